"""Log-odds PSSMs, integer scaling and exact p-values, as MEME's FIMO computes them.

For each motif (and its reverse complement, built from the complemented
frequencies as FIMO does):

1. pseudocount: ``p' = (p * n + c * bg) / (n + c)`` with ``n`` the motif's site
   count truncated to an integer (20 when unknown) and ``c`` the pseudocount (0.1);
2. log-odds in bits: ``s = ln(p' / bg) * 1.44269504`` (MEME's constant);
3. integer scaling over the whole matrix (range 1000, as FIMO builds it): ``offset = floor(min s)``,
   ``scale = floor(1000 / (max s - offset))``, cells ``round_half_away((s - offset) * scale)``;
4. the exact distribution of the integer window score under the background by
   dynamic programming, and ``pvalue[S] = P(score >= S)``.

A window's p-value is ``pvalue[S]`` for its integer score ``S``; its reported score
is ``S / scale + width * offset`` (bits), exactly FIMO's ``score`` column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motif import Motif

MEME_LOG2 = 1.44269504
PSSM_RANGE = 1000
DEFAULT_SITES = 20


@dataclass(frozen=True)
class ScaledPssm:
    """One motif on one strand, scaled to integers.

    Attributes
    ----------
    cells : ndarray of int32, shape (width, 4)
    scale : int
    offset : int
    pvalues : ndarray of float64, shape (width * 1000 + 1,)
        ``pvalues[S]`` = P(integer score >= S) under the background.
    """

    cells: np.ndarray
    scale: int
    offset: int
    pvalues: np.ndarray

    @property
    def width(self) -> int:
        return int(self.cells.shape[0])

    def raw_score(self, scaled: np.ndarray) -> np.ndarray:
        """FIMO's reported score (bits) for integer window scores."""
        return np.asarray(scaled, dtype=np.float64) / self.scale + self.width * self.offset

    def pvalue(self, scaled: np.ndarray) -> np.ndarray:
        index = np.clip(np.asarray(scaled, dtype=np.int64), 0, self.pvalues.size - 1)
        return self.pvalues[index]

    def cutoff(self, threshold: float) -> int:
        """Smallest integer score whose p-value is <= ``threshold`` (may exceed the
        largest reachable score: the motif then cannot report a hit)."""
        passing = np.flatnonzero(self.pvalues <= threshold)
        return int(passing[0]) if passing.size else int(self.pvalues.size)


def with_pseudocount(motif: Motif, background: np.ndarray, pseudocount: float) -> np.ndarray:
    """FIMO's pseudocounted frequencies, shape (width, 4)."""
    sites = int(motif.n_sites) if motif.n_sites > 0 else DEFAULT_SITES
    return (motif.probabilities * sites + pseudocount * background) / (sites + pseudocount)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(np.int64)


def score_distribution(cells: np.ndarray, background: np.ndarray) -> np.ndarray:
    """P(integer window score >= S) for S = 0 .. width * 1000, by dynamic programming."""
    return score_tables([cells], background)[0]


def score_tables(
    cells: list[np.ndarray], background: np.ndarray, *, threshold: float = 1.0, whole: bool = True, threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`score_distribution` of each integer PSSM, end to end in one flat
    float64 table filled in place, and each PSSM's cut-off at ``threshold``.

    Parameters
    ----------
    cells : list of ndarray of int, shape (width, 4)
        Integer PSSMs, cells in 0 .. 1000.
    background : ndarray of float64, shape (4,)
    threshold : float
        p-value a cut-off score must reach (``<=``).
    whole : bool
        Write every score's entry; otherwise only those from the cut-off to the
        best reachable score (the rest of the table is left unwritten, and its
        memory untouched).
    threads : int
        Threads that share the PSSMs (the kernel releases the GIL).

    Returns
    -------
    table : ndarray of float64, shape (sum of width * 1000 + 1,)
    table_base : ndarray of int64, shape (PSSMs,)
        Where each PSSM's entries start.
    cutoffs : ndarray of int64, shape (PSSMs,)
        Smallest integer score with p-value <= ``threshold`` (``width * 1000 + 1``
        if none).
    """
    from concurrent.futures import ThreadPoolExecutor

    from .pssm_numba_fns import score_tails

    widths = np.array([c.shape[0] for c in cells], dtype=np.int64)
    column_base = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    sizes = widths * PSSM_RANGE + 1
    table_base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    table = np.empty(int(sizes.sum()))
    cutoffs = np.empty(len(cells), dtype=np.int64)
    flat = np.ascontiguousarray(np.concatenate(cells), dtype=np.int64)
    background = np.ascontiguousarray(background, dtype=np.float64)
    # the work of a PSSM grows as its width squared: deal the widest out first, in turn
    by_cost = np.argsort(-widths, kind="stable")
    groups = [np.sort(by_cost[t::threads]) for t in range(max(1, min(threads, len(cells))))]

    def fill(strands):
        score_tails(flat, column_base, widths, strands, background, float(threshold), whole, table_base, table, cutoffs)

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        list(pool.map(fill, groups))
    return table, table_base, cutoffs


def _score_distribution_numpy(cells: np.ndarray, background: np.ndarray) -> np.ndarray:
    """P(integer window score >= S) for S = 0 .. width * 1000, by dynamic programming."""
    width = cells.shape[0]
    pdf = np.zeros(width * PSSM_RANGE + 1)
    pdf[0] = 1.0
    top = 0
    for row in cells:
        new = np.zeros_like(pdf)
        for letter in range(4):
            shift = int(row[letter])
            new[shift : shift + top + 1] += pdf[: top + 1] * background[letter]
        top += int(row.max())
        pdf = new
    tail = np.cumsum(pdf[::-1])[::-1]
    return np.minimum(tail, 1.0)


def _scaled_cells(log_odds: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(integer cells, scale, offset) of a log-odds matrix scaled over its whole range."""
    small, large = float(log_odds.min()), float(log_odds.max())
    if small == large:
        small = large - 1
    offset = int(np.floor(small))
    scale = int(np.floor(PSSM_RANGE / (large - offset)))
    return _round_half_away((log_odds - offset) * scale).astype(np.int32), scale, offset


def scale_pssm(log_odds: np.ndarray, background: np.ndarray) -> ScaledPssm:
    """Integer-scale a log-odds matrix over its whole range, with its p-value table."""
    cells, scale, offset = _scaled_cells(log_odds)
    return ScaledPssm(cells=cells, scale=scale, offset=offset, pvalues=score_distribution(cells, background))


def _log_odds(motif: Motif, background: np.ndarray, pseudocount: float, pseudocount_background) -> tuple[np.ndarray, np.ndarray]:
    """Forward and reverse-complement log-odds (bits), shape (width, 4) each."""
    spread = background if pseudocount_background is None else pseudocount_background
    frequencies = with_pseudocount(motif, spread, pseudocount)
    forward = np.log(frequencies / background) * MEME_LOG2
    reverse = np.log(frequencies[::-1, ::-1] / background) * MEME_LOG2
    return forward, reverse


def build_pssms(
    motif: Motif,
    background: np.ndarray,
    *,
    pseudocount: float = 0.1,
    pseudocount_background: np.ndarray | None = None,
) -> tuple[ScaledPssm, ScaledPssm]:
    """Forward and reverse-complement scaled PSSMs of a motif.

    Parameters
    ----------
    motif : Motif
    background : ndarray of float64, shape (4,)
        From :func:`scanner.motifs.background.background_frequencies`.
    pseudocount : float
        FIMO's ``--motif-pseudo`` (default 0.1).
    pseudocount_background : ndarray, optional
        Frequencies the pseudocount is spread by (default ``background``, as the
        FIMO command line does).

    Returns
    -------
    (ScaledPssm, ScaledPssm)
        Scanning the forward sequence with the second finds the '-' strand hits.
    """
    forward, reverse = _log_odds(motif, background, pseudocount, pseudocount_background)
    return scale_pssm(forward, background), scale_pssm(reverse, background)


def build_strands(
    motifs: list[Motif],
    background: np.ndarray,
    *,
    pseudocount: float = 0.1,
    pseudocount_background: np.ndarray | None = None,
    both_strands: bool = True,
    threshold: float = 1.0,
    whole: bool = True,
    threads: int = 1,
) -> tuple[list[ScaledPssm], np.ndarray, np.ndarray]:
    """The scaled PSSMs of many motifs, forward strands first, then (with
    ``both_strands``) the reverse complements in the same order; each equal to
    :func:`build_pssms`'s, with its cut-off at ``threshold``.

    Returns
    -------
    strands : list of ScaledPssm
        Their ``pvalues`` are views into ``table``; unless ``whole``, only the
        entries from the cut-off to the best reachable score are defined (see
        :func:`score_tables`).
    table : ndarray of float64
        Every strand's p-value table, end to end.
    cutoffs : ndarray of int64, shape (strands,)
    """
    pairs = [_log_odds(m, background, pseudocount, pseudocount_background) for m in motifs]
    scaled = [_scaled_cells(p[0]) for p in pairs] + ([_scaled_cells(p[1]) for p in pairs] if both_strands else [])
    cells = [c for c, _, _ in scaled]
    table, table_base, cutoffs = score_tables(cells, background, threshold=threshold, whole=whole, threads=threads)
    strands = [
        ScaledPssm(cells=c, scale=sc, offset=o, pvalues=table[b : b + c.shape[0] * PSSM_RANGE + 1])
        for (c, sc, o), b in zip(scaled, table_base.tolist())
    ]
    return strands, table, cutoffs
