"""Compiled kernels for base codes: one-hot encoding and reverse complement."""

from __future__ import annotations

from .._numba import kernel
from .alphabet import BASE_BITS, N


@kernel
def one_hot_into(codes, out, one):
    """Write the one-hot encoding of ``codes`` (n, length) into zeroed ``out`` (n, length, 4).

    ``one`` is the value of a set bit in ``out``'s dtype (numba has no float16, so
    float16 output is written through a uint16 view with ``one = 0x3C00``).
    """
    for i in range(codes.shape[0]):
        for j in range(codes.shape[1]):
            base = codes[i, j] & BASE_BITS
            if base < N:
                out[i, j, base] = one


@kernel
def reverse_complement_into(codes, out):
    """Reverse-complement each row of ``codes`` (n, length) into ``out``; keeps the soft mask."""
    length = codes.shape[1]
    for i in range(codes.shape[0]):
        for j in range(length):
            code = codes[i, length - 1 - j]
            base = code & BASE_BITS
            # A<->T and C<->G are 0<->3 and 1<->2, i.e. 3 - base; N stays N.
            out[i, j] = (code - base + (3 - base)) if base < N else code
