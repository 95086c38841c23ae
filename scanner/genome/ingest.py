"""FASTA -> Zarr genome store, atomically, in one streaming pass."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .alphabet import ALPHABET, FILL_CODE, SOFT_MASK_BIT
from .fasta import FastaFormatError, FastaReader, RecordStart, file_sha256
from .store_format import (
    ATTRS_KEY,
    DEFAULT_CHUNK_SIZE,
    FORMAT_NAME,
    FORMAT_VERSION,
    quiet_zarr_string_warnings,
    sequence_key,
)

log = logging.getLogger(__name__)


@dataclass
class _ContigStats:
    name: str
    header_line: int
    length: int = 0
    n_count: int = 0
    soft_masked_count: int = 0
    ambiguous_count: int = 0


@dataclass
class _ContigWriter:
    """Fills one chunk-sized buffer at a time and appends it to the contig's array."""

    array: object
    chunk_size: int
    buffer: np.ndarray = field(init=False)
    filled: int = 0
    written: int = 0

    def __post_init__(self):
        self.buffer = np.empty(self.chunk_size, dtype=np.uint8)

    def append(self, codes: np.ndarray) -> None:
        while codes.size:
            take = min(codes.size, self.chunk_size - self.filled)
            self.buffer[self.filled : self.filled + take] = codes[:take]
            self.filled += take
            codes = codes[take:]
            if self.filled == self.chunk_size:
                self.flush()

    def flush(self) -> None:
        if not self.filled:
            return
        end = self.written + self.filled
        self.array.resize((end,))
        self.array[self.written : end] = self.buffer[: self.filled]
        self.written = end
        self.filled = 0


def _valid_contig_name(name: str, path: Path, line: int) -> None:
    if "/" in name or name in {".", ".."} or name.startswith("__"):
        raise FastaFormatError(
            f"{path}, line {line}: contig name {name!r} cannot name a Zarr group "
            "(it contains '/', is '.' or '..', or starts with '__'); rename it in the FASTA"
        )


def _existing_store_matches(store_path: Path, sha256: str, chunk_size: int) -> bool:
    import zarr

    try:
        attrs = zarr.open_group(store_path, mode="r").attrs.get(ATTRS_KEY, {})
    except Exception:  # not a store, or a damaged one: it will be replaced
        return False
    return (
        attrs.get("complete") is True
        and attrs.get("format_version") == FORMAT_VERSION
        and attrs.get("source_sha256") == sha256
        and attrs.get("chunk_size") == chunk_size
    )


def ingest_fasta(
    fasta_path: str | os.PathLike,
    store_path: str | os.PathLike,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overwrite: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a FASTA file into a Zarr v3 genome store.

    One uint8 array of base codes per contig (A=0, C=1, G=2, T=3, N=4, plus 8 where
    soft-masked), chunked along positions and compressed. The store is written beside
    its destination and moved into place only once complete, so a failure leaves no
    store that looks finished. If a complete store made from the same file (same
    SHA-256) with the same chunk size is already there, nothing is done.

    Parameters
    ----------
    fasta_path : path-like
        Plain, gzip or bgzip FASTA.
    store_path : path-like
        Destination directory (``.zarr``).
    chunk_size : int
        Bases per Zarr chunk; memory use is a few times this.
    overwrite : bool
        Replace an existing store made from another file. When False such a store
        raises ``FileExistsError``.
    on_progress : callable, optional
        Called with the count of source-file bytes read so far.

    Returns
    -------
    pathlib.Path
        The store path.

    Raises
    ------
    FastaFormatError
        Invalid characters (file, contig, line), duplicate contig names, a FASTA
        with no sequence, or a truncated / corrupt gzip stream.
    """
    import zarr

    fasta_path, store_path = Path(fasta_path), Path(store_path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if not fasta_path.is_file():
        raise FileNotFoundError(f"FASTA file not found: {fasta_path}")
    if store_path.exists():
        if _existing_store_matches(store_path, file_sha256(fasta_path), chunk_size):
            log.info("%s is already an up-to-date store of %s; nothing to do", store_path, fasta_path)
            return store_path
        if not overwrite:
            raise FileExistsError(f"{store_path} exists and was not made from {fasta_path}")

    partial = store_path.with_name(f".{store_path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        _write_store(fasta_path, partial, chunk_size, on_progress)
        _move_into_place(partial, store_path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return store_path


def _write_store(fasta_path: Path, partial: Path, chunk_size: int, on_progress) -> None:
    import xarray as xr
    import zarr

    root = zarr.open_group(partial, mode="w", zarr_format=3)
    reader = FastaReader(fasta_path, on_progress=on_progress)
    contigs: dict[str, _ContigStats] = {}
    stats: _ContigStats | None = None
    writer: _ContigWriter | None = None

    def finish_contig():
        if stats is None:
            return
        writer.flush()
        if stats.length == 0:
            log.warning("%s, line %d: contig %r has no bases; skipped", fasta_path, stats.header_line, stats.name)
            del root[f"contigs/{stats.name}"]
            del contigs[stats.name]

    for event in reader.events():
        if isinstance(event, RecordStart):
            finish_contig()
            if event.name in contigs:
                raise FastaFormatError(
                    f"{fasta_path}, line {event.line}: duplicate contig name {event.name!r} "
                    f"(first seen on line {contigs[event.name].header_line})"
                )
            _valid_contig_name(event.name, fasta_path, event.line)
            stats = contigs[event.name] = _ContigStats(event.name, event.line)
            array = root.create_array(
                sequence_key(event.name),
                shape=(0,),
                chunks=(chunk_size,),
                dtype="uint8",
                fill_value=FILL_CODE,
                dimension_names=["positions"],
                attributes={"description": event.description},
            )
            writer = _ContigWriter(array, chunk_size)
        else:
            writer.append(event.codes)
            stats.length += event.codes.size
            stats.n_count += event.n_n
            stats.soft_masked_count += event.n_soft_masked
            stats.ambiguous_count += event.n_ambiguous
    finish_contig()
    if not contigs:
        raise FastaFormatError(f"{fasta_path}: no sequence found (no record with bases)")

    table = list(contigs.values())
    contig_table = xr.Dataset(
        {
            "contig_id": ("contigs", np.array([c.name for c in table])),
            "contig_length": ("contigs", np.array([c.length for c in table], dtype=np.int64)),
            "contig_n_count": ("contigs", np.array([c.n_count for c in table], dtype=np.int64)),
            "contig_soft_masked_count": (
                "contigs",
                np.array([c.soft_masked_count for c in table], dtype=np.int64),
            ),
            "contig_ambiguous_count": ("contigs", np.array([c.ambiguous_count for c in table], dtype=np.int64)),
        }
    )
    for name, comment in _TABLE_COMMENTS.items():
        contig_table[name].attrs["comment"] = comment
    with quiet_zarr_string_warnings():
        contig_table.to_zarr(partial, mode="a", zarr_format=3, consolidated=False)
    root.attrs[ATTRS_KEY] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "source": str(fasta_path.resolve()),
        "source_sha256": reader.sha256,
        "chunk_size": chunk_size,
        "alphabet": ALPHABET + "N",
        "soft_mask_bit": SOFT_MASK_BIT,
        "coordinates": "0-based, half-open",
        "complete": True,
    }


_TABLE_COMMENTS = {
    "contig_id": "Contig names, as the first word of each FASTA header.",
    "contig_length": "Number of bases in each contig.",
    "contig_n_count": "Bases stored as N (N in the FASTA plus IUPAC ambiguity codes).",
    "contig_soft_masked_count": "Bases in lowercase (soft-masked) in the FASTA.",
    "contig_ambiguous_count": "IUPAC ambiguity codes (R, Y, S, W, K, M, B, D, H, V) stored as N.",
}


def _move_into_place(partial: Path, store_path: Path) -> None:
    """Rename the finished store into place, replacing an older one if present."""
    if not store_path.exists():
        os.replace(partial, store_path)
        return
    old = store_path.with_name(f".{store_path.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(store_path, old)
    os.replace(partial, store_path)
    shutil.rmtree(old, ignore_errors=True)
