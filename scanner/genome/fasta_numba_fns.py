"""Compiled kernels of the FASTA reader."""

from __future__ import annotations

import numpy as np

from .._numba import kernel
from .alphabet import BASE_BITS, CLASS_AMBIGUOUS, CLASS_INVALID, CLASS_SKIP, N, SOFT_MASK_BIT


@kernel
def is_n(code):
    """1 when a base code is N, else 0."""
    return 1 if (code & BASE_BITS) == N else 0


@kernel
def is_soft_masked(code):
    """1 when a base code carries the soft-mask bit, else 0."""
    return 1 if code & SOFT_MASK_BIT else 0


@kernel
def encode_sequence_bytes(raw, start, end, byte_to_code, byte_class, out):
    """Encode FASTA sequence bytes ``raw[start:end]`` into ``out``.

    Whitespace is skipped. Stops at the first invalid byte.

    Returns
    -------
    n_out, n_ambiguous, n_n, n_soft_masked, bad_index : int
        Codes written, IUPAC ambiguity codes seen, N codes written (ambiguity codes
        included), soft-masked codes written, and the index in ``raw`` of the first
        invalid byte (-1 when there is none).
    """
    n_out = 0
    n_ambiguous = 0
    n_n = 0
    n_soft = 0
    for i in range(start, end):
        byte = raw[i]
        klass = byte_class[byte]
        if klass == CLASS_SKIP:
            continue
        if klass == CLASS_INVALID:
            return n_out, n_ambiguous, n_n, n_soft, i
        code = byte_to_code[byte]
        n_ambiguous += klass == CLASS_AMBIGUOUS
        n_n += is_n(code)
        n_soft += is_soft_masked(code)
        out[n_out] = code
        n_out += 1
    return n_out, n_ambiguous, n_n, n_soft, -1


def warm_up() -> None:
    """Compile the kernel on a tiny input (keeps compile time out of timings)."""
    from .alphabet import BYTE_CLASS, BYTE_TO_CODE

    raw = np.frombuffer(b"ACGT\n", dtype=np.uint8)
    encode_sequence_bytes(raw, 0, 5, BYTE_TO_CODE, BYTE_CLASS, np.empty(5, np.uint8))


IRREGULAR = -2


@kernel
def encode_fixed_lines(raw, first_column, line_bases, line_bytes, byte_to_code, byte_class, out):
    """Encode bytes of a FASTA record whose lines all hold ``line_bases`` bases.

    ``raw`` starts at column ``first_column`` of a sequence line; each line is
    ``line_bases`` bases then ``line_bytes - line_bases`` terminator bytes, and
    after ``out.shape[0]`` bases only terminator bytes may follow (the record's last
    line may be short). Every byte is checked against that role, so a file whose
    lines differ from its index is caught rather than misread.

    Returns
    -------
    n_out, n_ambiguous, n_n, n_soft_masked, status : int
        ``status`` is -1 when all is well, the index of the first invalid base byte,
        or IRREGULAR (-2) when a byte is not where the line layout puts it.
    """
    n_out = 0
    n_ambiguous = 0
    n_n = 0
    n_soft = 0
    column = first_column
    for i in range(raw.shape[0]):
        byte = raw[i]
        klass = byte_class[byte]
        if column < line_bases and n_out < out.shape[0]:
            if klass == CLASS_SKIP:
                return n_out, n_ambiguous, n_n, n_soft, IRREGULAR
            if klass == CLASS_INVALID:
                return n_out, n_ambiguous, n_n, n_soft, i
            code = byte_to_code[byte]
            n_ambiguous += klass == CLASS_AMBIGUOUS
            n_n += is_n(code)
            n_soft += is_soft_masked(code)
            out[n_out] = code
            n_out += 1
        elif byte != 10 and byte != 13:  # only '\n' or '\r\n' may end a line
            return n_out, n_ambiguous, n_n, n_soft, IRREGULAR
        column += 1
        if column == line_bytes:
            column = 0
    return n_out, n_ambiguous, n_n, n_soft, -1
