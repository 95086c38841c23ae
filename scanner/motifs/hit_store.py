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
        self.pending: list[dict[str, np.ndarray]] = []
        self.pending_rows = 0
        with quiet_zarr_string_warnings():
            self.arrays = {
                name: self.root.create_array(
                    name, shape=(0,), chunks=(HIT_CHUNK,), dtype=dtype, dimension_names=["hits"]
                )
                for name, dtype in HIT_FIELDS.items()
            }

    def append(self, columns: dict[str, np.ndarray]) -> None:
        """Queue hits; whole Zarr chunks are written as soon as they are full, so no
        chunk is ever read back and rewritten."""
        if columns["hit_start"].size == 0:
            return
        self.pending.append(columns)
        self.pending_rows += columns["hit_start"].size
        if self.pending_rows >= HIT_CHUNK:
            self._flush(whole_chunks_only=True)

    def _flush(self, *, whole_chunks_only: bool) -> None:
        if not self.pending_rows:
            return
        merged = {name: np.concatenate([c[name] for c in self.pending]) for name in HIT_FIELDS}
        n = (self.pending_rows // HIT_CHUNK) * HIT_CHUNK if whole_chunks_only else self.pending_rows
        with quiet_zarr_string_warnings():
            for name, array in self.arrays.items():
                array.resize((self.size + n,))
                array[self.size : self.size + n] = merged[name][:n]
        self.size += n
        rest = {name: values[n:] for name, values in merged.items()}
        self.pending = [rest] if rest["hit_start"].size else []
        self.pending_rows = int(rest["hit_start"].size)

    def finish(self, tables: xr.Dataset, tested: np.ndarray) -> None:
        """Add q-values (per motif, from the stored p-values) and the motif and contig tables."""
        self._flush(whole_chunks_only=False)
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
