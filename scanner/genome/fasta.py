"""A streaming FASTA reader: plain, gzip or bgzip, one pass, bounded memory.

The reader yields events in file order: a :class:`RecordStart` for each header and
:class:`SequenceBlock` objects holding the encoded bases of that record. Memory is
bounded by the read block size, never by the contig length. Every byte is checked:
a character that is neither a base nor an IUPAC code raises
:class:`FastaFormatError` naming the file, the record and the line.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alphabet import BYTE_CLASS, BYTE_TO_CODE

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"


class FastaFormatError(ValueError):
    """The FASTA file is malformed; the message says where."""


@dataclass(frozen=True)
class RecordStart:
    """A header line: ``name`` is its first word, ``line`` its 1-based line number."""

    name: str
    description: str
    line: int


@dataclass(frozen=True)
class SequenceBlock:
    """Encoded bases of the current record (uint8 codes, see :mod:`.alphabet`)."""

    codes: np.ndarray
    n_ambiguous: int
    n_n: int
    n_soft_masked: int


class _HashingReader(io.RawIOBase):
    """Reads a binary file while feeding a hash, so the checksum costs no extra pass."""

    def __init__(self, raw, digest):
        self._raw = raw
        self._digest = digest
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._digest.update(memoryview(buffer)[:n])
            self.bytes_read += n
        return n


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (gzip and bgzip alike)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def file_sha256(path: str | Path, *, block_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(block_size):
            digest.update(block)
    return digest.hexdigest()


class FastaReader:
    """Stream a FASTA file as :class:`RecordStart` / :class:`SequenceBlock` events.

    Parameters
    ----------
    path : path-like
        Plain, gzip or bgzip FASTA (detected from the magic bytes, not the name).
    block_size : int
        Bytes of decompressed text handled at a time; bounds the memory used.
    on_progress : callable, optional
        Called with the number of compressed bytes read so far.

    Attributes
    ----------
    sha256 : str
        Checksum of the file's bytes, complete once the events are exhausted.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        on_progress: Callable[[int], None] | None = None,
    ):
        self.path = Path(path)
        self.block_size = block_size
        self.on_progress = on_progress
        self._digest = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def events(self) -> Iterator[RecordStart | SequenceBlock]:
        """Yield the file's records and sequence blocks in order."""
        with open(self.path, "rb") as raw_handle:
            hashing = _HashingReader(raw_handle, self._digest)
            buffered = io.BufferedReader(hashing, buffer_size=1 << 20)
            if buffered.peek(2)[:2] == GZIP_MAGIC:
                stream = gzip.GzipFile(fileobj=buffered, mode="rb")
            else:
                stream = buffered
            try:
                yield from self._parse(stream, hashing)
            except (EOFError, gzip.BadGzipFile, zlib.error) as err:
                raise FastaFormatError(
                    f"{self.path}: the gzip stream is truncated or corrupt "
                    f"(after {hashing.bytes_read} compressed bytes): {err}"
                ) from err
            # The digest must cover the whole file, even bytes after the last record.
            while hashing.read(1 << 20):
                pass

    def _parse(self, stream, hashing: _HashingReader) -> Iterator[RecordStart | SequenceBlock]:
        from .fasta_numba_fns import encode_sequence_bytes

        buf = b""
        line = 1  # line number of buf[0]
        eof = False
        in_record = False
        record: RecordStart | None = None
        while True:
            if not eof and len(buf) < self.block_size:
                data = stream.read(self.block_size)
                if self.on_progress is not None:
                    self.on_progress(hashing.bytes_read)
                if data:
                    buf = buf + data if buf else data
                else:
                    eof = True
            if not in_record:
                # Expecting a header: blank lines are allowed before it.
                stripped = buf.lstrip(b" \t\r\n")
                line += buf[: len(buf) - len(stripped)].count(b"\n")
                buf = stripped
                if not buf:
                    if eof:
                        return
                    continue
                if buf[:1] != b">":
                    what = "the file" if record is None else f"record {record.name!r}"
                    raise FastaFormatError(
                        f"{self.path}, line {line}: expected a header line starting with '>' "
                        f"at the start of {what}, found {buf[:20]!r}"
                    )
                newline = buf.find(b"\n")
                if newline < 0 and not eof:
                    if len(buf) > 1 << 24:
                        raise FastaFormatError(f"{self.path}, line {line}: header line longer than 16 MiB")
                    buf += stream.read(self.block_size)
                    continue
                end = len(buf) if newline < 0 else newline
                header = buf[1:end].decode("utf-8", errors="replace").strip()
                words = header.split(maxsplit=1)
                if not words:
                    raise FastaFormatError(f"{self.path}, line {line}: header line has no sequence name")
                record = RecordStart(name=words[0], description=words[1] if len(words) > 1 else "", line=line)
                yield record
                buf = buf[end + 1 :]
                line += 1
                in_record = True
                continue

            # Inside a record: everything up to the next line that starts with '>'.
            if buf[:1] == b">":
                in_record = False
                continue
            header_at = buf.find(b"\n>")
            if header_at >= 0:
                stop = header_at + 1
            elif eof:
                stop = len(buf)
            else:
                # Keep the last byte: it may be the '\n' of a "\n>" split across blocks.
                stop = max(len(buf) - 1, 0)
            if stop:
                raw = np.frombuffer(buf, dtype=np.uint8)
                out = np.empty(stop, dtype=np.uint8)
                n_out, n_amb, n_n, n_soft, bad = encode_sequence_bytes(
                    raw, 0, stop, BYTE_TO_CODE, BYTE_CLASS, out
                )
                if bad >= 0:
                    self._raise_invalid(buf, bad, line, record)
                if n_out:
                    yield SequenceBlock(out[:n_out], n_amb, n_n, n_soft)
                line += buf.count(b"\n", 0, stop)
                buf = buf[stop:]
            if header_at >= 0:
                in_record = False
            elif eof and not buf:
                return

    def _raise_invalid(self, buf: bytes, index: int, line: int, record: RecordStart) -> None:
        line_start = buf.rfind(b"\n", 0, index) + 1
        char = chr(buf[index])
        bad_line = line + buf.count(b"\n", 0, index)
        raise FastaFormatError(
            f"{self.path}, line {bad_line}, column {index - line_start + 1}: "
            f"{char!r} in record {record.name!r} is not a base (A, C, G, T, N, U) "
            f"or an IUPAC ambiguity code ({'RYSWKMBDHV'})"
        )
