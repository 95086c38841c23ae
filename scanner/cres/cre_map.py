"""Annotating seqlets into a map of cis-regulatory elements (CREs).

Each seqlet becomes a CRE carrying:

- the motif hits it overlaps (count) and the best of them (lowest p-value: its
  motif id and name, p-value and strand -- the CRE's strand);
- its place relative to the nearest gene: ``promoter`` (within ``upstream``
  bases before the TSS to ``downstream`` bases after it), ``terminator`` (from
  ``downstream`` bases before the TTS to ``upstream`` after it), ``genic``
  (elsewhere inside a gene), ``distal`` (elsewhere); signed distances of its
  centre to that gene's TSS and TTS in transcript orientation (negative:
  upstream).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..variables import annotate

REGIONS = ("promoter", "terminator", "genic", "distal")


def _contig_groups(seqlets: xr.Dataset, contig: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Per contig holding seqlets and intervals (``contig``, ``start``, ``end``): the seqlet rows,
    the interval indices, and the seqlets' and the intervals' bounds (int64)."""
    seqlet_contig = seqlets.seqlet_contig.values
    seqlet_start, seqlet_end = seqlets.seqlet_start.values, seqlets.seqlet_end.values
    for c in np.unique(seqlet_contig):
        on = np.flatnonzero(contig == c)
        if on.size == 0:
            continue
        rows = np.flatnonzero(seqlet_contig == c)
        yield (rows, on, seqlet_start[rows].astype(np.int64), seqlet_end[rows].astype(np.int64),
               np.asarray(start[on], np.int64), np.asarray(end[on], np.int64))


def _by_start(start: np.ndarray) -> np.ndarray:
    """Indices ordering ``start`` (stable): a range when already sorted, as scans return hits."""
    if len(start) < 2 or bool(np.all(start[1:] >= start[:-1])):
        return np.arange(len(start), dtype=np.int64)
    return np.argsort(start, kind="stable")


def _best_hits(seqlets: xr.Dataset, hits: xr.Dataset):
    """Per seqlet: number of overlapping hits and the index of the best (lowest p-value; -1 if none)."""
    from .cre_map_numba_fns import best_overlapping

    n = seqlets.sizes["seqlets"]
    count = np.zeros(n, np.int64)
    best = np.full(n, -1, np.int64)
    pvalue = np.asarray(hits.hit_pvalue.values, np.float64)
    for rows, on, lo, hi, start, end in _contig_groups(seqlets, hits.hit_contig.values, hits.hit_start.values,
                                                       hits.hit_end.values):
        found_count, found = np.empty(len(rows), np.int64), np.empty(len(rows), np.int64)
        best_overlapping(lo, hi, start, end, _by_start(start), pvalue[on], found_count, found)
        count[rows] = found_count
        best[rows] = np.where(found >= 0, on[np.maximum(found, 0)], -1)
    return count, best


def _gene_context(contig, centre, genes: pd.DataFrame, upstream: int, downstream: int):
    """Region, gene id and signed distances to TSS and TTS of the nearest gene per position."""
    from .cre_map_numba_fns import gene_context

    n = len(centre)
    region = np.full(n, len(REGIONS) - 1, np.int64)
    gene = np.full(n, -1, np.int64)
    to_tss = np.zeros(n, np.int64)
    to_tts = np.zeros(n, np.int64)
    ids = genes.gene_id.to_numpy().astype(str)
    gene_contig = genes.contig_index.to_numpy()
    centre = np.asarray(centre, np.int64)
    for c in np.unique(contig):
        rows = np.flatnonzero(contig == c)
        on = np.flatnonzero(gene_contig == c)
        if on.size == 0:
            continue
        start = genes.start.to_numpy()[on].astype(np.int64)
        end = genes.end.to_numpy()[on].astype(np.int64)
        minus = (genes.strand.to_numpy()[on] == "-")
        points = np.concatenate([start, end - 1])
        point_order = np.argsort(points, kind="stable")
        out = [np.empty(len(rows), np.int64) for _ in range(4)]
        gene_context(centre[rows], start, end, minus, int(upstream), int(downstream),
                     _by_start(start), points[point_order],
                     np.tile(np.arange(len(on), dtype=np.int64), 2)[point_order], *out)
        region[rows], gene[rows], to_tss[rows], to_tts[rows] = out[0], on[out[1]], out[2], out[3]
    names = np.where(gene >= 0, ids[np.maximum(gene, 0)] if len(ids) else "", "")
    return np.asarray(REGIONS)[region].astype("<U10"), names.astype(str), to_tss, to_tts


def _patterns(seqlets: xr.Dataset, members: xr.Dataset, matches: dict[str, str]):
    """Per seqlet: the discovered pattern whose member seqlet overlaps it most, and that pattern's match."""
    from .cre_map_numba_fns import most_overlapping

    pattern = np.full(seqlets.sizes["seqlets"], "", dtype=object)
    contig, start, end = (members[f"pattern_seqlet_{k}"].values for k in ("contig", "start", "end"))
    names = members.pattern_seqlet_pattern.values
    for rows, on, lo, hi, member_start, member_end in _contig_groups(seqlets, contig, start, end):
        found = np.empty(len(rows), np.int64)
        most_overlapping(lo, hi, member_start, member_end, _by_start(member_start), found)
        pattern[rows[found >= 0]] = names[on[found[found >= 0]]]
    match = np.array([matches.get(p, "") for p in pattern], dtype=object)
    return pattern.astype(str), match.astype(str)


def cre_map(seqlets: xr.Dataset, hits: xr.Dataset, genes: pd.DataFrame, *, upstream: int = 1000,
            downstream: int = 500, patterns: xr.Dataset | None = None,
            pattern_matches: dict[str, str] | None = None) -> xr.Dataset:
    """The CRE map: one record per seqlet, annotated with motifs and gene context.

    Parameters
    ----------
    seqlets : xarray.Dataset
        From :func:`scanner.seqlets.calling.call_seqlets`.
    hits : xarray.Dataset
        Motif hits on the same genome (:func:`scanner.motifs.scan`).
    genes : pandas.DataFrame
        ``contig_index``, ``start``, ``end`` (0-based), ``strand``, ``gene_id``.
    upstream, downstream : int
        Promoter and terminator extents (see the module notes).
    patterns : xarray.Dataset, optional
        The seqlets of discovered patterns
        (:func:`scanner.cres.discovery.pattern_seqlets`): each CRE gets the pattern
        whose member overlaps it most (``cre_pattern``).
    pattern_matches : dict, optional
        Pattern name -> its best database match, given as ``cre_pattern_match``.

    Returns
    -------
    xarray.Dataset
        Dim ``cres``: ``cre_contig``, ``cre_start``, ``cre_end``, ``cre_strand``
        (of the best motif hit, '.' without one), ``cre_sign``, ``cre_contribution``
        (the seqlet's windowed sum), ``cre_peak``, ``cre_hits``, ``cre_motif_id``,
        ``cre_motif_name``, ``cre_motif_pvalue``, ``cre_region``, ``cre_gene_id``,
        ``cre_distance_tss``, ``cre_distance_tts``, with ``patterns``
        ``cre_pattern`` and ``cre_pattern_match``; the contig table.
    """
    for name, value in (("upstream", upstream), ("downstream", downstream)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a whole number of bases >= 0; got {value!r}")
    backwards = np.flatnonzero(genes.end.to_numpy() < genes.start.to_numpy())
    if len(backwards):
        g = genes.iloc[int(backwards[0])]
        raise ValueError(f"{len(backwards)} genes end before they start, e.g. {g.gene_id} ({g.start}-{g.end}); "
                         "genes need end >= start (0-based, half-open)")
    n_hits = hits.sizes.get("hits", 0)
    if n_hits and np.isnan(hits.hit_pvalue.values).any():
        raise ValueError("motif hits with a NaN p-value: the best hit of a CRE is the one of lowest p-value")
    count, best = _best_hits(seqlets, hits)
    has = best >= 0
    motif = np.where(has, hits.hit_motif.values[np.maximum(best, 0)], -1) if n_hits else np.full(len(best), -1)
    motif_id = np.where(motif >= 0, hits.motif_id.values[np.maximum(motif, 0)], "") if len(hits.motif_id) else np.full(len(best), "")
    motif_name = np.where(motif >= 0, hits.motif_name.values[np.maximum(motif, 0)], "") if len(hits.motif_id) else np.full(len(best), "")
    pvalue = np.where(has, hits.hit_pvalue.values[np.maximum(best, 0)] if n_hits else np.nan, np.nan)
    strand = np.where(has, hits.hit_strand.values[np.maximum(best, 0)] if n_hits else ".", ".")
    contig = seqlets.seqlet_contig.values
    start, end = seqlets.seqlet_start.values, seqlets.seqlet_end.values
    region, gene, to_tss, to_tts = _gene_context(contig, (start + end) // 2, genes, upstream, downstream)
    extra = {}
    if patterns is not None:
        pattern, match = _patterns(seqlets, patterns, pattern_matches or {})
        extra = {"cre_pattern": ("cres", pattern), "cre_pattern_match": ("cres", match)}
    ds = xr.Dataset(
        {
            "cre_contig": ("cres", contig.astype(np.int32)),
            "cre_start": ("cres", start),
            "cre_end": ("cres", end),
            "cre_strand": ("cres", np.asarray(strand).astype("<U1")),
            "cre_sign": ("cres", seqlets.seqlet_sign.values),
            "cre_contribution": ("cres", seqlets.seqlet_sum.values),
            "cre_peak": ("cres", seqlets.seqlet_peak.values),
            "cre_hits": ("cres", count),
            "cre_motif_id": ("cres", np.asarray(motif_id).astype(str)),
            "cre_motif_name": ("cres", np.asarray(motif_name).astype(str)),
            "cre_motif_pvalue": ("cres", pvalue.astype(np.float64)),
            "cre_region": ("cres", region),
            "cre_gene_id": ("cres", gene),
            "cre_distance_tss": ("cres", to_tss),
            "cre_distance_tts": ("cres", to_tts),
            **extra,
            "contig_id": ("contigs", seqlets.contig_id.values),
            "contig_length": ("contigs", seqlets.contig_length.values),
        },
        attrs={**seqlets.attrs, "promoter_upstream": upstream, "promoter_downstream": downstream,
               "coordinates": "0-based, half-open"},
    )
    return annotate(ds)


def cre_table(cres: xr.Dataset) -> pd.DataFrame:
    """The CRE map as a table (contig names, 0-based coordinates)."""
    table = cres.drop_dims("contigs").to_dataframe().reset_index(drop=True)
    table.insert(0, "contig", cres.contig_id.values[cres.cre_contig.values])
    table = table.drop(columns=["cre_contig"])
    return table.rename(columns=lambda c: c.removeprefix("cre_"))


def to_bed(cres: xr.Dataset, path) -> None:
    """BED6: name = best motif name (or ``unknown``) with the sign, score = contribution."""
    contig = cres.contig_id.values[cres.cre_contig.values]
    with open(path, "w") as handle:
        for c, s, e, strand, name, sign, value in zip(contig, cres.cre_start.values, cres.cre_end.values,
                                                      cres.cre_strand.values, cres.cre_motif_name.values,
                                                      cres.cre_sign.values, cres.cre_contribution.values):
            label = (name or "unknown") + ("(+)" if sign > 0 else "(-)")
            handle.write(f"{c}\t{s}\t{e}\t{label}\t{value:.6g}\t{strand}\n")


def summaries(cres: xr.Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CREs per gene and region; motifs ranked by total absolute contribution of their CREs."""
    table = cre_table(cres)
    per_gene = table[table.gene_id != ""].pivot_table(index="gene_id", columns="region", values="start", aggfunc="count",
                                                      fill_value=0)
    per_gene = per_gene.reindex(columns=[r for r in REGIONS if r in per_gene.columns]).reset_index()
    named = table[table.motif_id != ""].assign(absolute=lambda t: t.contribution.abs())
    motifs = (named.groupby(["motif_id", "motif_name"])
              .agg(cres=("start", "count"), total_contribution=("absolute", "sum"),
                   positive=("sign", lambda s: int((s > 0).sum())))
              .sort_values("total_contribution", ascending=False).reset_index())
    return per_gene, motifs
