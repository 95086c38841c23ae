"""Compiled kernels of the FASTA reader."""

from __future__ import annotations

import numpy as np

from .._numba import kernel
from .alphabet import BASE_BITS, CLASS_AMBIGUOUS, CLASS_INVALID, CLASS_SKIP, N, SOFT_MASK_BIT


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
        if klass == CLASS_AMBIGUOUS:
            n_ambiguous += 1
        code = byte_to_code[byte]
        if (code & BASE_BITS) == N:
            n_n += 1
        if code & SOFT_MASK_BIT:
            n_soft += 1
        out[n_out] = code
        n_out += 1
    return n_out, n_ambiguous, n_n, n_soft, -1


def warm_up() -> None:
    """Compile the kernel on a tiny input (keeps compile time out of timings)."""
    from .alphabet import BYTE_CLASS, BYTE_TO_CODE

    raw = np.frombuffer(b"ACGT\n", dtype=np.uint8)
    encode_sequence_bytes(raw, 0, 5, BYTE_TO_CODE, BYTE_CLASS, np.empty(5, np.uint8))
