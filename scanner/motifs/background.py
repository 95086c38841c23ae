"""Background letter frequencies for log-odds scores and p-values."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: MEME's default DNA background (non-redundant database frequencies), A C G T.
NRDB = np.array([0.281774, 0.222020, 0.228876, 0.267330])
#: MEME adds this to every frequency before renormalising (normalize_frequencies).
MEME_FREQUENCY_EPSILON = 5e-7


def _meme_normalise(frequencies: np.ndarray) -> np.ndarray:
    return (frequencies + MEME_FREQUENCY_EPSILON) / (1 + 4 * MEME_FREQUENCY_EPSILON)


def genome_composition(genome) -> np.ndarray:
    """Frequencies of A, C, G, T over every contig of a genome store (N ignored).

    Returns
    -------
    ndarray of float64, shape (4,)
    """
    import dask.array as da

    counts = []
    for contig in genome.contig_names:
        codes = genome.sequence(contig) & 7
        counts.append(da.bincount(codes, minlength=5)[:4])
    total = da.stack(counts).sum(axis=0).compute().astype(np.float64)
    if total.sum() == 0:
        raise ValueError(f"genome {genome.path} has no A, C, G or T to take a composition from")
    return total / total.sum()


def _read_background_file(path: Path) -> np.ndarray:
    """A MEME background file (lines 'A 0.3'; order-0 entries used) or four numbers."""
    values = {}
    numbers = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if len(words) == 2 and words[0].upper() in "ACGT" and len(words[0]) == 1:
            values[words[0].upper()] = float(words[1])
        elif words and all(_is_number(w) for w in words):
            numbers.extend(float(w) for w in words)
        elif words and len(words) == 2 and len(words[0]) > 1:
            continue  # higher-order Markov entries: not used
        elif words:
            raise ValueError(f"{path}, line {number}: expected 'LETTER frequency', found {line.strip()!r}")
    if len(values) == 4:
        return np.array([values[letter] for letter in "ACGT"])
    if len(numbers) == 4:
        return np.array(numbers)
    raise ValueError(f"{path}: expected frequencies for A, C, G and T")


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


def background_frequencies(spec, *, genome=None, both_strands: bool = True) -> np.ndarray:
    """Background frequencies (A, C, G, T) as MEME's FIMO prepares them.

    Parameters
    ----------
    spec : {"uniform", "nrdb", "genome"}, path, or sequence of 4 floats
        ``uniform`` (0.25 each, the default of this tool), ``nrdb`` (the MEME
        suite's default), ``genome`` (composition of ``genome``), a MEME background
        file, or four frequencies.
    genome : Genome, optional
        Needed for ``genome``.
    both_strands : bool
        Average with the complement, as FIMO does when scanning both strands.

    Returns
    -------
    ndarray of float64, shape (4,)
        After MEME's normalisation ``(f + 5e-7) / (1 + 2e-6)``.
    """
    if isinstance(spec, str) and spec == "uniform":
        frequencies = np.full(4, 0.25)
    elif isinstance(spec, str) and spec == "nrdb":
        frequencies = NRDB.copy()
    elif isinstance(spec, str) and spec == "genome":
        if genome is None:
            raise ValueError("background 'genome' needs a genome store")
        frequencies = genome_composition(genome)
    elif isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        if not path.is_file():
            raise ValueError(f"background must be 'uniform', 'nrdb', 'genome' or a file; {spec!r} is none of these")
        frequencies = _read_background_file(path)
    else:
        frequencies = np.asarray(spec, dtype=np.float64)
        if frequencies.shape != (4,):
            raise ValueError(f"background needs 4 frequencies (A, C, G, T), got {frequencies.shape}")
    if np.any(frequencies <= 0):
        raise ValueError(f"background frequencies must be positive, got {frequencies}")
    frequencies = frequencies / frequencies.sum()
    if both_strands:
        frequencies = (frequencies + frequencies[::-1]) / 2
    return _meme_normalise(frequencies)
