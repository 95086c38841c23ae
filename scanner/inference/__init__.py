"""Inference and attribution over windows, block by block on Dask, into a run's Zarr store."""
