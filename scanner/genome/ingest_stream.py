"""The streaming ingest path: any FASTA (plain, gzip, bgzip), one pass, bounded memory."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .fasta import FastaFormatError, FastaReader, RecordStart, SequenceBlock
from .store_format import CONTIGS_GROUP
from .store_writer import ContigStats, check_contig_name, create_sequence_array, finish_store

log = logging.getLogger(__name__)


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


class _StreamingStore:
    """Builds the store from reader events: one growing array per contig."""

    def __init__(self, fasta_path: Path, partial: Path, chunk_size: int, pool: ThreadPoolExecutor):
        import zarr

        self.fasta_path = fasta_path
        self.partial = partial
        self.chunk_size = chunk_size
        self.pool = pool
        self.root = zarr.open_group(partial, mode="w", zarr_format=3)
        self.contigs: dict[str, ContigStats] = {}
        self.current: ContigStats | None = None
        self.writer: _ContigWriter | None = None

    def start_contig(self, record: RecordStart) -> None:
        self.finish_contig()
        if record.name in self.contigs:
            raise FastaFormatError(
                f"{self.fasta_path}, line {record.line}: duplicate contig name {record.name!r} "
                f"(first seen on line {self.contigs[record.name].header_line})"
            )
        check_contig_name(record.name, self.fasta_path, record.line)
        self.current = self.contigs[record.name] = ContigStats(record.name, record.line)
        array = create_sequence_array(
            self.root, record.name, description=record.description, length=0, chunk_size=self.chunk_size
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


def write_store_streaming(fasta_path: Path, partial: Path, *, chunk_size: int, on_progress=None) -> None:
    """Fill the store at ``partial`` from ``fasta_path`` in one streaming pass."""
    reader = FastaReader(fasta_path, on_progress=on_progress)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as pool:
        store = _StreamingStore(fasta_path, partial, chunk_size, pool)
        for event in reader.events():
            if isinstance(event, RecordStart):
                store.start_contig(event)
            else:
                store.add_block(event)
        store.finish_contig()
        finish_store(
            store.root,
            partial,
            list(store.contigs.values()),
            fasta_path=fasta_path,
            sha256=reader.sha256,
            chunk_size=chunk_size,
        )
