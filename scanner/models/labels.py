"""Training labels and splits: expression tables, DeepCRE's quartile rule,
class balancing and held-out contigs or regions.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


class LabelError(ValueError):
    """A label table or a split cannot be used."""


def read_expression(path: str | os.PathLike, *, value_column: str | None = None) -> pd.Series:
    """Read an expression table: gene id in the first column, one numeric value per gene.

    Tab-, comma- or whitespace-separated with a header row. ``value_column`` picks
    the value column; without it the table must have exactly one column besides
    the gene id.

    Returns
    -------
    pandas.Series of float64, indexed by gene id (str)
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, sep=None, engine="python", dtype=str, comment="#")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise LabelError(f"{path}: cannot read the expression table ({error})") from None
    if table.shape[1] < 2:
        raise LabelError(f"{path}: expected a gene id column and a value column, found {table.shape[1]} column(s)")
    gene_column = table.columns[0]
    if value_column is None:
        if table.shape[1] != 2:
            raise LabelError(
                f"{path}: {table.shape[1] - 1} value columns ({', '.join(table.columns[1:])}); choose one with value_column"
            )
        value_column = table.columns[1]
    if value_column not in table.columns:
        raise LabelError(f"{path}: no column {value_column!r}; columns are {', '.join(table.columns)}")
    values = pd.to_numeric(table[value_column], errors="coerce")
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise LabelError(
            f"{path}, line {row + 2}: value {table[value_column].iloc[row]!r} in column {value_column!r} "
            f"of gene {table[gene_column].iloc[row]!r} is not a finite number ({int(bad.sum())} such rows)"
        )
    genes = table[gene_column].str.strip()
    duplicated = genes.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise LabelError(f"{path}, line {row + 2}: gene {genes.iloc[row]!r} appears more than once")
    return pd.Series(values.to_numpy(np.float64), index=genes.to_numpy(), name=str(value_column))


def expression_labels(values: pd.Series, *, lower: float = 0.25, upper: float = 0.75) -> pd.Series:
    """DeepCRE's classes: 0 at or below the ``lower`` quantile, 1 at or above ``upper``.

    Genes in between are dropped. Quantiles are numpy's linear percentiles, as in
    DeepCRE's scripts.

    Returns
    -------
    pandas.Series of int8, indexed by gene id, only the labelled genes
    """
    if not 0 <= lower <= upper <= 1:
        raise LabelError(f"need 0 <= lower <= upper <= 1, got {lower}, {upper}")
    low, high = np.percentile(values.to_numpy(), [100 * lower, 100 * upper])
    labels = pd.Series(np.full(len(values), -1, dtype=np.int8), index=values.index)
    labels[values.to_numpy() >= high] = 1
    labels[values.to_numpy() <= low] = 0  # checked first in DeepCRE's if/elif, so it wins a tie
    return labels[labels >= 0]


def balance_classes(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices that down-sample every class to the size of the smallest, in order.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, sorted
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise LabelError(f"cannot balance: only class {classes.tolist()} present")
    size = counts.min()
    keep = [rng.choice(np.flatnonzero(labels == c), size=size, replace=False) for c in classes]
    return np.sort(np.concatenate(keep)).astype(np.int64)


@dataclass(frozen=True)
class Region:
    """A 0-based half-open interval on a named contig."""

    contig: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{self.end}"


_REGION = re.compile(r"^(?P<contig>[^:]+)(?::(?P<start>[\d,]+)-(?P<end>[\d,]+))?$")


def parse_region(text: str, contig_lengths: dict[str, int]) -> Region:
    """Parse ``contig`` or ``contig:start-end`` (1-based inclusive, as samtools)."""
    match = _REGION.match(text.strip())
    if not match:
        raise LabelError(f"region {text!r}: expected CONTIG or CONTIG:START-END")
    contig = match["contig"]
    if contig not in contig_lengths:
        raise LabelError(f"region {text!r}: contig {contig!r} is not in the genome ({', '.join(list(contig_lengths)[:5])} ...)")
    if match["start"] is None:
        return Region(contig, 0, int(contig_lengths[contig]))
    start, end = int(match["start"].replace(",", "")), int(match["end"].replace(",", ""))
    if not 1 <= start <= end:
        raise LabelError(f"region {text!r}: need 1 <= start <= end")
    return Region(contig, start - 1, min(end, int(contig_lengths[contig])))


def in_regions(contig: np.ndarray, start: np.ndarray, end: np.ndarray, regions: list[Region],
               contig_ids: list[str]) -> np.ndarray:
    """Which windows overlap any of ``regions``.

    Parameters
    ----------
    contig : ndarray of int, shape (n,)
        Contig index of each window.
    start, end : ndarray of int64, shape (n,)
        0-based half-open window spans.
    regions : list of Region
    contig_ids : list of str
        Contig names by index.
    """
    hit = np.zeros(len(contig), dtype=bool)
    for region in regions:
        index = contig_ids.index(region.contig)
        hit |= (contig == index) & (start < region.end) & (end > region.start)
    return hit


@dataclass(frozen=True)
class Fold:
    """One training split: a name and the regions held out for validation."""

    name: str
    heldout: tuple[Region, ...]


def chromosome_folds(contigs_with_data: list[str], contig_lengths: dict[str, int]) -> list[Fold]:
    """Leave-one-chromosome-out: one fold per contig that has data, named after it."""
    if len(contigs_with_data) < 2:
        raise LabelError(
            f"leave-one-chromosome-out needs data on at least 2 contigs, found {len(contigs_with_data)} "
            f"({', '.join(contigs_with_data)}); hold out a region instead"
        )
    return [Fold(name, (Region(name, 0, int(contig_lengths[name])),)) for name in contigs_with_data]
