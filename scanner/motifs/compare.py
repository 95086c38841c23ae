"""Comparing motifs with a database, by TOMTOM's method (Gupta et al. 2007).

For each query motif:

1. Query and target frequencies get FIMO's pseudocount (0.1 weighted by site
   count) against the background; targets are compared on both strands (each
   target's reverse complement is another target).
2. Every query column is scored against every column of every target with a
   column similarity (``ed``: minus the Euclidean distance, TOMTOM's default;
   ``pearson``; ``sandelin``). Each query row is shifted by its median over all
   target columns, so an unaligned column scores 0 ("complete scores").
3. The shifted matrix is scaled to integers 0..100 over its whole range.
4. The score of an alignment is the sum over all query columns (0 where not
   overlapping). Its null distribution, each query column drawing a target column
   uniformly from the database, comes from dynamic programming; for a target of
   width L the best of all ``query width + L - 1`` offsets on both strands is
   compared with the distribution of the maximum of that many alignment scores.
5. E-value = p-value x number of targets; q-values by Benjamini-Hochberg over
   both strands of all targets (TOMTOM multiplies by an estimate of the null
   proportion; here it is 1).

Only the better strand of each target is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .background import background_frequencies
from .motif import Motif
from .pssm import with_pseudocount

BINS = 100
DISTANCES = ("ed", "pearson", "sandelin")
TOMTOM_COLUMNS = [
    "Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value", "q-value", "Overlap",
    "Query_consensus", "Target_consensus", "Orientation",
]


def column_scores(query: np.ndarray, targets: np.ndarray, distance: str) -> np.ndarray:
    """Similarity of each query column (rows) with each target column (columns).

    Parameters
    ----------
    query : ndarray (width, 4)
    targets : ndarray (columns, 4)
    distance : {"ed", "pearson", "sandelin"}

    Returns
    -------
    ndarray of float64, shape (width, columns); larger is more similar.
    """
    if distance == "ed":
        return -np.sqrt(((query[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2))
    if distance == "sandelin":
        return 2 - ((query[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2)
    if distance == "pearson":
        q = query - 0.25
        t = targets - 0.25
        denominator = np.sqrt((q**2).sum(axis=1)[:, None] * (t**2).sum(axis=1)[None, :])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, q @ t.T / denominator, 0.0)
    raise ValueError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(np.int64)


def scaled_shifted_scores(scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Median-shifted, integer-scaled scores and the scaled value of a 0 score."""
    n = scores.shape[1]
    ordered = np.sort(scores, axis=1)
    median = (ordered[:, n // 2 - 1] + ordered[:, -(-n // 2) - 1]) / 2 if n > 1 else ordered[:, 0]
    shifted = scores - median[:, None]
    small, large = float(shifted.min()), float(shifted.max())
    if small == large:
        small = large - 1
    offset = int(np.floor(small))
    scale = int(np.floor(BINS / (large - offset)))
    return _round_half_away((shifted - offset) * scale), -offset * scale


def block_distributions(scaled: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """pmf of the summed scaled score of every block of consecutive query columns,
    each column drawing uniformly from its row."""
    width, n = scaled.shape
    rows = [np.bincount(row, minlength=BINS + 1) / n for row in scaled]
    blocks = {}
    for start in range(width):
        pmf = np.ones(1)
        for end in range(start, width):
            pmf = np.convolve(pmf, rows[end])
            blocks[(start, end)] = pmf
    return blocks


def max_distribution(pmfs: list[np.ndarray], size: int) -> np.ndarray:
    """pmf of the maximum of independent variables with the given pmfs."""
    total = np.zeros(size)
    total[: pmfs[0].size] = pmfs[0]
    for pmf in pmfs[1:]:
        current = np.zeros(size)
        current[: pmf.size] = pmf
        cdf_total = np.concatenate([[0.0], np.cumsum(total)[:-1]])  # P(X <= k - 1)
        cdf_current = np.concatenate([[0.0], np.cumsum(current)[:-1]])
        total = current * cdf_total + total * cdf_current + current * total
    return total


def _alignments(width: int, target_width: int):
    """(alignment offset, first and last overlapping query column) of every configuration."""
    for configuration in range(1, width + target_width):
        offset = configuration - width  # target column = query column + offset
        first, last = max(0, -offset), min(width - 1, target_width - 1 - offset)
        yield offset, first, last


def consensus(frequencies: np.ndarray) -> str:
    """The most likely letter of each column (ties to the earlier letter)."""
    return "".join("ACGT"[i] for i in np.argmax(frequencies, axis=1))


def compare_motifs(
    queries: list[Motif],
    targets: list[Motif],
    *,
    distance: str = "ed",
    background="uniform",
    pseudocount: float = 0.1,
    both_strands: bool = True,
    threshold: float = 0.5,
    evalue: bool = False,
) -> pd.DataFrame:
    """Compare query motifs with target motifs by TOMTOM's method.

    Parameters
    ----------
    queries, targets : list of Motif
    distance : {"ed", "pearson", "sandelin"}
        Column similarity; ``ed`` is TOMTOM's default.
    background : "uniform", "nrdb", path or 4 floats
        For the pseudocounts (TOMTOM takes it from the query file).
    pseudocount : float
    both_strands : bool
        Also compare with each target's reverse complement.
    threshold : float
        Report matches with q-value (or E-value when ``evalue``) <= this.

    Returns
    -------
    pandas.DataFrame
        TOMTOM's columns (``Query_ID``, ``Target_ID``, ``Optimal_offset`` with
        target column = query column + offset, ``p-value``, ``E-value``,
        ``q-value``, ``Overlap``, consensus strings, ``Orientation``), sorted by
        query, p-value and overlap.
    """
    from .hits import benjamini_hochberg

    if not queries or not targets:
        raise ValueError("compare_motifs needs at least one query and one target motif")
    bg = background_frequencies(background, both_strands=True)
    oriented = [(t, "+", with_pseudocount(t, bg, pseudocount)) for t in targets]
    if both_strands:
        oriented += [(t, "-", f[::-1, ::-1]) for t, _, f in list(oriented)]
    columns = np.concatenate([f for _, _, f in oriented])
    starts = np.concatenate([[0], np.cumsum([f.shape[0] for _, _, f in oriented])])
    strands = 2 if both_strands else 1
    rows = []
    for query in queries:
        q = with_pseudocount(query, bg, pseudocount)
        width = q.shape[0]
        scaled, zero = scaled_shifted_scores(column_scores(q, columns, distance))
        blocks = block_distributions(scaled)
        size = width * BINS + 1
        nulls = {}
        results = []
        for index, (target, strand, f) in enumerate(oriented):
            block = scaled[:, starts[index] : starts[index + 1]]
            target_width = block.shape[1]
            if target_width not in nulls:
                pmfs = []
                for _, first, last in _alignments(width, target_width):
                    pmf = np.zeros(size)
                    shift = (width - (last - first + 1)) * zero
                    pmf[shift : shift + blocks[(first, last)].size] = blocks[(first, last)][: size - shift]
                    pmfs.extend([pmf] * strands)
                tail = np.cumsum(max_distribution(pmfs, size)[::-1])[::-1]
                nulls[target_width] = np.minimum(tail, 1.0)
            best = None
            for offset, first, last in _alignments(width, target_width):
                overlap = last - first + 1
                total = int(block[np.arange(first, last + 1), np.arange(first, last + 1) + offset].sum())
                total += (width - overlap) * zero
                if best is None or total > best[0] or (total == best[0] and overlap > best[2]):
                    best = (total, offset, overlap)
            pvalue = float(nulls[target_width][min(best[0], size - 1)])
            results.append((target, strand, f, pvalue, best[1], best[2]))
        pvalues = np.array([r[3] for r in results])
        qvalues = benjamini_hochberg(pvalues, np.zeros(pvalues.size, dtype=np.int64), np.array([pvalues.size]))
        reported = {}
        for (target, strand, f, pvalue, offset, overlap), qvalue in zip(results, qvalues):
            row = {
                "Query_ID": query.motif_id,
                "Target_ID": target.motif_id,
                "Optimal_offset": offset,
                "p-value": pvalue,
                "E-value": pvalue * len(targets),
                "q-value": float(qvalue),
                "Overlap": overlap,
                "Query_consensus": consensus(q),
                "Target_consensus": consensus(f),
                "Orientation": strand,
            }
            kept = reported.get(target.motif_id)
            if kept is None or (pvalue, -overlap) < (kept["p-value"], -kept["Overlap"]):
                reported[target.motif_id] = row
        for row in reported.values():
            if (row["E-value"] if evalue else row["q-value"]) <= threshold:
                rows.append(row)
    table = pd.DataFrame(rows, columns=TOMTOM_COLUMNS)
    return table.sort_values(["Query_ID", "p-value", "Overlap"], ascending=[True, True, False], kind="stable").reset_index(drop=True)


def write_tomtom_tsv(table: pd.DataFrame, path) -> None:
    """TOMTOM's TSV layout: its header, p/E/q-values as %g."""
    with open(path, "w") as out:
        out.write("\t".join(TOMTOM_COLUMNS) + "\n")
        for row in table.itertuples(index=False):
            out.write(
                f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]:g}\t{row[4]:g}\t{row[5]:g}\t{row[6]}\t{row[7]}\t{row[8]}\t{row[9]}\n"
            )
