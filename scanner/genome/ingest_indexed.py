"""The indexed ingest path: plain-text FASTA, chunks read by offset, in parallel.

The FASTA's index comes from pyfaidx: the ``.fai`` beside the file when one is
there and newer than the file (samtools and pyfaidx write it), else built into a
scratch file beside the partial store, never beside the user's file. Each chunk
of each contig is then an independent task:
read its byte range, check every byte against the line layout, encode, write its
Zarr chunk. Tasks run on a Dask cluster, each worker process writing its own
chunks (Zarr's writes from threads of one process serialise, so threads gain
nothing); memory per task is one chunk. A file whose lines are not all of one width (valid FASTA, but not
indexable) raises :class:`IrregularLayout` and the caller falls back to the
streaming reader.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alphabet import BYTE_CLASS, BYTE_TO_CODE
from .fasta import FastaFormatError, file_sha256
from .store_writer import ContigStats, check_contig_name, create_sequence_array, finish_store

log = logging.getLogger(__name__)


class IrregularLayout(Exception):
    """The FASTA cannot be read by offset arithmetic (lines of varying width)."""


@dataclass(frozen=True)
class IndexedRecord:
    """One record of an indexed FASTA; offsets in bytes, ``header_line`` 1-based."""

    name: str
    description: str
    header_line: int
    length: int
    offset: int
    line_bases: int
    line_bytes: int

    def byte_of(self, position: int) -> int:
        """Byte offset in the file of base ``position`` (0-based) of this record."""
        return self.offset + (position // self.line_bases) * self.line_bytes + position % self.line_bases

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Bytes holding bases ``[start, end)``, with the line terminator after the
        last base when it ends a line, so that every byte of the record is in
        exactly one chunk's range (the end may pass the end of the file)."""
        stop = self.byte_of(end - 1) + 1
        if end % self.line_bases == 0 or end == self.length:
            stop += self.line_bytes - self.line_bases
        return self.byte_of(start), stop


def existing_index(fasta_path: Path) -> Path | None:
    """The ``.fai`` beside ``fasta_path`` if there is one at least as new as the file."""
    index = fasta_path.with_name(fasta_path.name + ".fai")
    if index.is_file() and index.stat().st_mtime >= fasta_path.stat().st_mtime:
        return index
    return None


def read_layout(fasta_path: Path, index_path: Path, *, build: bool) -> list[IndexedRecord]:
    """The records of ``fasta_path`` from its pyfaidx index, with header lines.

    Parameters
    ----------
    index_path : Path
        Where the index is (``build=False``) or is to be written (``build=True``).

    Raises
    ------
    IrregularLayout
        pyfaidx cannot index the file (varying line widths, duplicate names, ...).
    """
    import pyfaidx

    try:
        faidx = pyfaidx.Faidx(
            str(fasta_path), indexname=str(index_path), rebuild=build, build_index=build, duplicate_action="stop"
        )
    except Exception as err:  # pyfaidx signals every indexing problem its own way
        raise IrregularLayout(f"pyfaidx cannot index {fasta_path}: {err}") from err
    entries = list(faidx.index.items())
    faidx.close()
    records, line, position = [], 1, 0
    with open(fasta_path, "rb") as handle:
        for name, entry in entries:
            # The bytes between the previous record's sequence and this header may
            # hold blank lines only; anything else means the lines were irregular.
            handle.seek(position)
            gap = handle.read(entry.offset - position)
            header_at = gap.rfind(b">")
            if header_at < 0 or gap[:header_at].strip():
                raise IrregularLayout(f"{fasta_path}: record {name!r} is not where regular lines put it")
            line += gap.count(b"\n", 0, header_at)
            words = gap[header_at + 1 :].decode("utf-8", errors="replace").split(maxsplit=1)
            record = IndexedRecord(
                name=name,
                description=words[1].strip() if len(words) > 1 else "",
                header_line=line,
                length=entry.rlen,
                offset=entry.offset,
                line_bases=entry.lenc,
                line_bytes=entry.lenb,
            )
            records.append(record)
            line += 1
            if record.length:
                line += -(-record.length // record.line_bases)
                position = record.byte_range(0, record.length)[1]
            else:
                position = entry.offset
    return records


@functools.lru_cache(maxsize=64)
def _open_array(store_path: str, contig: str):
    import zarr

    from .store_format import sequence_key

    return zarr.open_array(Path(store_path) / sequence_key(contig), mode="r+")


def ingest_chunk(fasta_path: str, store_path: str, record: IndexedRecord, start: int, end: int) -> tuple[int, int, int]:
    """Encode bases ``[start, end)`` of ``record`` and write them to the store.

    Returns
    -------
    n_ambiguous, n_n, n_soft_masked : int
    """
    from .fasta_numba_fns import IRREGULAR, encode_fixed_lines

    first_byte, last_byte = record.byte_range(start, end)
    with open(fasta_path, "rb") as handle:
        handle.seek(first_byte)
        raw = np.frombuffer(handle.read(last_byte - first_byte), dtype=np.uint8)
    codes = np.empty(end - start, dtype=np.uint8)
    n_out, n_amb, n_n, n_soft, status = encode_fixed_lines(
        raw, start % record.line_bases, record.line_bases, record.line_bytes, BYTE_TO_CODE, BYTE_CLASS, codes
    )
    if status == IRREGULAR or (status == -1 and n_out != end - start):
        raise IrregularLayout(f"{fasta_path}: lines of record {record.name!r} are not all of one width")
    if status >= 0:
        in_record = first_byte + status - record.offset
        raise FastaFormatError(
            f"{fasta_path}, line {record.header_line + 1 + in_record // record.line_bytes}, "
            f"column {in_record % record.line_bytes + 1}: {chr(raw[status])!r} in record {record.name!r} "
            "is not a base (A, C, G, T, N, U) or an IUPAC ambiguity code (RYSWKMBDHV)"
        )
    _open_array(store_path, record.name)[start:end] = codes
    return n_amb, n_n, n_soft


def write_store_indexed(
    fasta_path: Path,
    partial: Path,
    *,
    index: Path | None,
    chunk_size: int,
    client=None,
    on_progress=None,
) -> None:
    """Fill the store at ``partial`` from a plain-text FASTA, one task per chunk.

    Parameters
    ----------
    index : Path or None
        An existing ``.fai`` to use; None builds one beside ``partial``.
    client : distributed.Client, optional
        Run the chunk tasks on this Dask cluster (the paths must be shared);
        without one they run one after another in this process.

    Raises
    ------
    IrregularLayout
        The file needs the streaming reader.
    FastaFormatError
        An invalid character (file, line, column, record).
    """
    import zarr

    records = read_layout(fasta_path, index or partial.parent / f"{partial.name}.fai", build=index is None)
    root = zarr.open_group(partial, mode="w", zarr_format=3)
    stats, tasks = [], []
    for record in records:
        if record.length == 0:
            log.warning("%s, line %d: contig %r has no bases; skipped", fasta_path, record.header_line, record.name)
            continue
        check_contig_name(record.name, fasta_path, record.header_line)
        create_sequence_array(root, record.name, description=record.description, length=record.length, chunk_size=chunk_size)
        stats.append(ContigStats(record.name, record.header_line, length=record.length))
        for start in range(0, record.length, chunk_size):
            tasks.append((len(stats) - 1, record, start, min(start + chunk_size, record.length)))
    args = [(str(fasta_path), str(partial), record, start, end) for _, record, start, end in tasks]
    log.info("reading %s by its index: %d chunk tasks%s", fasta_path, len(args), " on the cluster" if client else "")
    if client is not None:
        counts = client.gather(client.map(ingest_chunk, *zip(*args), pure=False)) if args else []
    else:
        counts, done_bytes = [], 0
        for (_, record, start, end), task in zip(tasks, args):
            counts.append(ingest_chunk(*task))
            first_byte, last_byte = record.byte_range(start, end)
            done_bytes += last_byte - first_byte
            if on_progress is not None:
                on_progress(done_bytes)
    for (contig, *_), (n_amb, n_n, n_soft) in zip(tasks, counts):
        stats[contig].ambiguous_count += n_amb
        stats[contig].n_count += n_n
        stats[contig].soft_masked_count += n_soft
    _open_array.cache_clear()
    finish_store(root, partial, stats, fasta_path=fasta_path, sha256=file_sha256(fasta_path), chunk_size=chunk_size)
