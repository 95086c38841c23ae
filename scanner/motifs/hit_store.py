"""Appending hits to Zarr as chunks finish, so memory never holds the genome's hits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..genome.store_format import quiet_zarr_string_warnings
from .hits import HIT_FIELDS, benjamini_hochberg

HIT_CHUNK = 1 << 20


class HitStore:
    """A Zarr group with one growing array per hit field (dim ``hits``)."""

    def __init__(self, path: Path):
        import zarr

        self.path = path
        self.root = zarr.open_group(path, mode="w", zarr_format=3)
        self.size = 0
        with quiet_zarr_string_warnings():
            self.arrays = {
                name: self.root.create_array(
                    name, shape=(0,), chunks=(HIT_CHUNK,), dtype=dtype, dimension_names=["hits"]
                )
                for name, dtype in HIT_FIELDS.items()
            }

    def append(self, columns: dict[str, np.ndarray]) -> None:
        n = columns["hit_start"].size
        if n == 0:
            return
        with quiet_zarr_string_warnings():
            for name, array in self.arrays.items():
                array.resize((self.size + n,))
                array[self.size : self.size + n] = columns[name]
        self.size += n

    def finish(self, tables: xr.Dataset, tested: np.ndarray) -> None:
        """Add q-values (per motif, from the stored p-values) and the motif and contig tables."""
        pvalue = self.arrays["hit_pvalue"][:] if self.size else np.empty(0)
        motif = self.arrays["hit_motif"][:] if self.size else np.empty(0, dtype=np.int32)
        qvalue = benjamini_hochberg(pvalue, motif, tested)
        array = self.root.create_array(
            "hit_qvalue", shape=(self.size,), chunks=(HIT_CHUNK,), dtype=np.float64, dimension_names=["hits"]
        )
        if self.size:
            array[:] = qvalue
        with quiet_zarr_string_warnings():
            tables.to_zarr(self.path, mode="a", zarr_format=3, consolidated=False)
