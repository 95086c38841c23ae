"""FASTA -> Zarr genome store, atomically, in one streaming pass."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..storage import atomic_output
from .alphabet import ALPHABET, FILL_CODE, SOFT_MASK_BIT
from .fasta import FastaFormatError, FastaReader, RecordStart, SequenceBlock, file_sha256
from .store_format import (
    ATTRS_KEY,
    CONTIGS_GROUP,
    DEFAULT_CHUNK_SIZE,
    FORMAT_NAME,
    FORMAT_VERSION,
    quiet_zarr_string_warnings,
    sequence_codec,
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


class _ContigWriter:
    """Fills a chunk-sized buffer and appends it to the contig's array.

    Compression and writing of a full chunk run on ``pool`` (one thread) while the
    reader fills the next buffer; at most one chunk is in flight, so memory stays
    at two chunks whatever the contig length.
    """

    def __init__(self, array, chunk_size: int, pool: ThreadPoolExecutor):
        self.array = array
        self.chunk_size = chunk_size
        self.pool = pool
        self.buffer = np.empty(chunk_size, dtype=np.uint8)
        self.spare = np.empty(chunk_size, dtype=np.uint8)
        self.filled = 0
        self.written = 0
        self.pending: Future | None = None

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
        self.wait()
        start, end = self.written, self.written + self.filled
        self.pending = self.pool.submit(self._write, self.buffer, start, end)
        self.buffer, self.spare = self.spare, self.buffer
        self.written = end
        self.filled = 0

    def _write(self, buffer: np.ndarray, start: int, end: int) -> None:
        self.array.resize((end,))
        self.array[start:end] = buffer[: end - start]

    def wait(self) -> None:
        """Wait for the chunk in flight; re-raises its error."""
        if self.pending is not None:
            self.pending.result()
            self.pending = None


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

    with atomic_output(store_path) as partial:
        _write_store(fasta_path, partial, chunk_size, on_progress)
    return store_path


class _StoreWriter:
    """Builds the store from reader events: one array per contig, then the contig table."""

    def __init__(self, fasta_path: Path, partial: Path, chunk_size: int, pool: ThreadPoolExecutor):
        import zarr

        self.fasta_path = fasta_path
        self.partial = partial
        self.chunk_size = chunk_size
        self.pool = pool
        self.root = zarr.open_group(partial, mode="w", zarr_format=3)
        self.contigs: dict[str, _ContigStats] = {}
        self.current: _ContigStats | None = None
        self.writer: _ContigWriter | None = None

    def start_contig(self, record: RecordStart) -> None:
        self.finish_contig()
        if record.name in self.contigs:
            raise FastaFormatError(
                f"{self.fasta_path}, line {record.line}: duplicate contig name {record.name!r} "
                f"(first seen on line {self.contigs[record.name].header_line})"
            )
        _valid_contig_name(record.name, self.fasta_path, record.line)
        self.current = self.contigs[record.name] = _ContigStats(record.name, record.line)
        array = self.root.create_array(
            sequence_key(record.name),
            shape=(0,),
            chunks=(self.chunk_size,),
            dtype="uint8",
            fill_value=FILL_CODE,
            compressors=[sequence_codec()],
            dimension_names=["positions"],
            attributes={"description": record.description},
        )
        self.writer = _ContigWriter(array, self.chunk_size, self.pool)

    def add_block(self, block: SequenceBlock) -> None:
        self.writer.append(block.codes)
        stats = self.current
        stats.length += block.codes.size
        stats.n_count += block.n_n
        stats.soft_masked_count += block.n_soft_masked
        stats.ambiguous_count += block.n_ambiguous

    def finish_contig(self) -> None:
        if self.current is None:
            return
        self.writer.flush()
        self.writer.wait()
        stats, self.current = self.current, None
        if stats.length == 0:
            log.warning(
                "%s, line %d: contig %r has no bases; skipped", self.fasta_path, stats.header_line, stats.name
            )
            del self.root[f"{CONTIGS_GROUP}/{stats.name}"]
            del self.contigs[stats.name]

    def finish(self, sha256: str) -> None:
        """Write the contig table, then the attributes that mark the store complete."""
        import xarray as xr

        self.finish_contig()
        if not self.contigs:
            raise FastaFormatError(f"{self.fasta_path}: no sequence found (no record with bases)")
        table = list(self.contigs.values())
        columns = {
            "contig_length": [c.length for c in table],
            "contig_n_count": [c.n_count for c in table],
            "contig_soft_masked_count": [c.soft_masked_count for c in table],
            "contig_ambiguous_count": [c.ambiguous_count for c in table],
        }
        contig_table = xr.Dataset(
            {"contig_id": ("contigs", np.array([c.name for c in table]))}
            | {name: ("contigs", np.array(values, dtype=np.int64)) for name, values in columns.items()}
        )
        for name, comment in _TABLE_COMMENTS.items():
            contig_table[name].attrs["comment"] = comment
        with quiet_zarr_string_warnings():
            contig_table.to_zarr(self.partial, mode="a", zarr_format=3, consolidated=False)
        self.root.attrs[ATTRS_KEY] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "source": str(self.fasta_path.resolve()),
            "source_sha256": sha256,
            "chunk_size": self.chunk_size,
            "alphabet": ALPHABET + "N",
            "soft_mask_bit": SOFT_MASK_BIT,
            "coordinates": "0-based, half-open",
            "complete": True,
        }


def _write_store(fasta_path: Path, partial: Path, chunk_size: int, on_progress) -> None:
    reader = FastaReader(fasta_path, on_progress=on_progress)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as pool:
        store = _StoreWriter(fasta_path, partial, chunk_size, pool)
        for event in reader.events():
            if isinstance(event, RecordStart):
                store.start_contig(event)
            else:
                store.add_block(event)
        store.finish(reader.sha256)


_TABLE_COMMENTS = {
    "contig_id": "Contig names, as the first word of each FASTA header.",
    "contig_length": "Number of bases in each contig.",
    "contig_n_count": "Bases stored as N (N in the FASTA plus IUPAC ambiguity codes).",
    "contig_soft_masked_count": "Bases in lowercase (soft-masked) in the FASTA.",
    "contig_ambiguous_count": "IUPAC ambiguity codes (R, Y, S, W, K, M, B, D, H, V) stored as N.",
}
