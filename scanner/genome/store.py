"""Reading the Zarr genome store."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from .alphabet import FILL_CODE
from .store_format import ATTRS_KEY, FORMAT_NAME, FORMAT_VERSION, quiet_zarr_string_warnings, sequence_key


class GenomeStoreError(ValueError):
    """The path is not a complete genome store of a supported version."""


class Genome:
    """A genome store opened for reading: contig table plus lazily loaded sequences.

    Holds only the path and the small contig table, so it is cheap to pickle: each
    Dask worker reopens the arrays it needs (see :func:`fetch_codes`).

    Attributes
    ----------
    path : pathlib.Path
    contigs : xarray.Dataset
        ``contig_id``, ``contig_length`` and the base-count variables, dim ``contigs``.
    attrs : dict
        The store's ``cre_scanner`` attributes (source checksum, chunk size, ...).
    """

    def __init__(self, path: str | os.PathLike):
        import xarray as xr
        import zarr

        self.path = Path(path)
        try:
            group = zarr.open_group(self.path, mode="r")
        except Exception as err:
            raise GenomeStoreError(
                f"{self.path} is not a cre-scanner genome store (no Zarr group there: {err}); "
                "make one with `scanner genome ingest`"
            ) from err
        attrs = dict(group.attrs.get(ATTRS_KEY, {}))
        if attrs.get("format") != FORMAT_NAME:
            raise GenomeStoreError(f"{self.path} is not a cre-scanner genome store (run `scanner genome ingest`)")
        if attrs.get("format_version") != FORMAT_VERSION:
            raise GenomeStoreError(
                f"{self.path} has genome store format version {attrs.get('format_version')}, "
                f"this version of cre-scanner reads version {FORMAT_VERSION}; ingest the FASTA again"
            )
        if attrs.get("complete") is not True:
            raise GenomeStoreError(f"{self.path} is incomplete (its ingest did not finish); ingest again")
        self.attrs = attrs
        with quiet_zarr_string_warnings():
            self.contigs = xr.open_zarr(self.path, consolidated=False, zarr_format=3).load()
        self.contig_names: list[str] = [str(name) for name in self.contigs.contig_id.values]
        self._index = {name: i for i, name in enumerate(self.contig_names)}

    def __repr__(self) -> str:
        total = int(self.contigs.contig_length.sum())
        return f"<Genome {self.path} contigs={len(self.contig_names)} bases={total:,}>"

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])

    def contig_index(self, contig: str) -> int:
        """Index of ``contig`` in ``contig_id``; KeyError naming the known contigs if absent."""
        try:
            return self._index[contig]
        except KeyError:
            shown = ", ".join(self.contig_names[:10]) + (" ..." if len(self.contig_names) > 10 else "")
            raise KeyError(f"contig {contig!r} is not in genome {self.path} (contigs: {shown})") from None

    def contig_length(self, contig: str) -> int:
        return int(self.contigs.contig_length.values[self.contig_index(contig)])

    def sequence(self, contig: str):
        """The contig's codes as a lazily loaded dask array, shape (positions,), uint8."""
        import dask.array as da

        self.contig_index(contig)
        return da.from_zarr(_open_array(str(self.path), contig))

    def fetch(self, contig: str, start: int, end: int) -> np.ndarray:
        """Codes of ``contig[start:end]`` (0-based, half-open); positions off the contig are N.

        Returns
        -------
        ndarray of uint8, shape (end - start,)
        """
        return fetch_codes(str(self.path), contig, start, end, self.contig_length(contig))


def open_genome(path: str | os.PathLike) -> Genome:
    """Open a genome store written by :func:`scanner.ingest_fasta`.

    Parameters
    ----------
    path : path-like
        The ``.zarr`` directory.

    Returns
    -------
    Genome
    """
    return Genome(path)


@functools.lru_cache(maxsize=256)
def _open_array(store_path: str, contig: str):
    """One open Zarr array per (store, contig) and process: workers open, never receive."""
    import zarr

    return zarr.open_array(Path(store_path) / sequence_key(contig), mode="r")


def fetch_codes(store_path: str, contig: str, start: int, end: int, contig_length: int) -> np.ndarray:
    """Codes of ``contig[start:end]`` from a store path, N-padded off the contig ends.

    Parameters
    ----------
    store_path : str
    contig : str
    start, end : int
        0-based, half-open; may extend past either end of the contig.
    contig_length : int

    Returns
    -------
    ndarray of uint8, shape (end - start,)
    """
    out = np.full(end - start, FILL_CODE, dtype=np.uint8)
    lo, hi = max(start, 0), min(end, contig_length)
    if hi > lo:
        out[lo - start : hi - start] = _open_array(store_path, contig)[lo:hi]
    return out
