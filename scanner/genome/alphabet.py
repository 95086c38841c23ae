"""The base codes of the genome store.

Every base is one ``uint8``: the low three bits hold the base (A=0, C=1, G=2, T=3,
N=4) and bit 3 (value 8) marks a soft-masked (lowercase) base. IUPAC ambiguity
codes become N. ``code & BASE_BITS`` is the base, ``code & SOFT_MASK_BIT`` the mask.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"
A, C, G, T, N = 0, 1, 2, 3, 4
SOFT_MASK_BIT = 8
BASE_BITS = 7
#: Zarr fill value: chunks that are all N are never written.
FILL_CODE = N

#: Byte classes for the FASTA reader.
CLASS_BASE = 0  # A, C, G, T, N (either case)
CLASS_AMBIGUOUS = 1  # an IUPAC ambiguity code, stored as N
CLASS_SKIP = 2  # whitespace inside sequence lines
CLASS_INVALID = 3

IUPAC_AMBIGUITY = "RYSWKMBDHV"


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    code = np.full(256, N, dtype=np.uint8)
    klass = np.full(256, CLASS_INVALID, dtype=np.uint8)
    for letter, value in zip("ACGTN", (A, C, G, T, N)):
        code[ord(letter)] = value
        code[ord(letter.lower())] = value | SOFT_MASK_BIT
        klass[ord(letter)] = klass[ord(letter.lower())] = CLASS_BASE
    # U (uracil) is read as T, as most aligners and samtools do.
    code[ord("U")], code[ord("u")] = T, T | SOFT_MASK_BIT
    klass[ord("U")] = klass[ord("u")] = CLASS_BASE
    for letter in IUPAC_AMBIGUITY:
        code[ord(letter)] = N
        code[ord(letter.lower())] = N | SOFT_MASK_BIT
        klass[ord(letter)] = klass[ord(letter.lower())] = CLASS_AMBIGUOUS
    for space in b" \t\r\n":
        klass[space] = CLASS_SKIP
    return code, klass


#: ``BYTE_TO_CODE[b]`` is the code of FASTA byte ``b``; ``BYTE_CLASS[b]`` its class.
BYTE_TO_CODE, BYTE_CLASS = _build_tables()


def decode(codes: np.ndarray, *, soft_mask: bool = True) -> str:
    """Turn codes back into a string, lowercase where soft-masked.

    Parameters
    ----------
    codes : ndarray of uint8, shape (positions,)
    soft_mask : bool
        Write soft-masked bases in lowercase (True) or uppercase.

    Returns
    -------
    str
    """
    codes = np.asarray(codes, dtype=np.uint8)
    letters = np.frombuffer(b"ACGTNNNNacgtnnnn", dtype=np.uint8)
    if not soft_mask:
        codes = codes & BASE_BITS
    return letters[codes & 15].tobytes().decode("ascii")


def encode(sequence: str) -> np.ndarray:
    """Encode a string of bases into codes (for tests and small inputs).

    Raises
    ------
    ValueError
        On a character that is not a base, IUPAC code or whitespace.
    """
    raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    classes = BYTE_CLASS[raw]
    bad = np.flatnonzero(classes == CLASS_INVALID)
    if bad.size:
        raise ValueError(f"invalid base {sequence[bad[0]]!r} at index {bad[0]}")
    return BYTE_TO_CODE[raw[classes != CLASS_SKIP]]
