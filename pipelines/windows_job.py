"""Writing a windows dataset (and optionally its sequences) to Zarr on the cluster."""

from __future__ import annotations

import logging
from pathlib import Path

import xarray as xr

from scanner.storage import atomic_output
from scanner.tiling.sequences import window_sequences

from .progress import compute_with_progress

log = logging.getLogger(__name__)


def write_windows(genome, windows: xr.Dataset, output: Path, *, client, sequences: bool) -> xr.Dataset:
    """Store ``windows`` (plus ``window_sequence`` when asked) in ``output``, atomically."""
    from scanner.genome.store_format import quiet_zarr_string_warnings

    if sequences:
        windows = windows.assign(window_sequence=window_sequences(genome, windows))
    with atomic_output(output) as partial, quiet_zarr_string_warnings():
        delayed = windows.to_zarr(partial, mode="w", zarr_format=3, consolidated=False, compute=False)
        compute_with_progress(client, delayed)
    return windows
