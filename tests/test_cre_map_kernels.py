"""The CRE map's kernels (gene context, overlapping hits and patterns) against slow, plain references."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.cres.cre_map import _gene_context


def slow_gene_context(contig, centre, genes, upstream, downstream):
    """Every gene of the contig tested for every position, in table order."""
    n = len(centre)
    region = np.full(n, "distal", dtype="<U10")
    gene = np.full(n, "", dtype=object)
    to_tss = np.zeros(n, np.int64)
    to_tts = np.zeros(n, np.int64)
    for row in range(n):
        x = int(centre[row])
        table = genes[genes.contig_index == contig[row]]
        if table.empty:
            continue
        scored = []
        for k, g in enumerate(table.itertuples()):
            sign = -1 if g.strand == "-" else 1
            tss = g.end - 1 if sign < 0 else g.start
            tts = g.start if sign < 0 else g.end - 1
            d_tss, d_tts = (x - tss) * sign, (x - tts) * sign
            kinds = [name for name, holds in (("promoter", -upstream <= d_tss < downstream),
                                              ("terminator", -downstream < d_tts <= upstream),
                                              ("genic", g.start <= x < g.end)) if holds]
            scored.append((kinds, min(abs(d_tss), abs(d_tts)), k, g.gene_id, d_tss, d_tts))
        chosen = None
        for name in ("promoter", "terminator", "genic"):
            holding = [s for s in scored if name in s[0]]
            if holding:
                chosen, region[row] = min(holding, key=lambda s: (s[1], s[2])), name
                break
        if chosen is None:
            chosen = min(scored, key=lambda s: (s[1], s[2]))
        gene[row], to_tss[row], to_tts[row] = chosen[3], chosen[4], chosen[5]
    return region, gene.astype(str), to_tss, to_tts


@st.composite
def layouts(draw):
    """Genes on two contigs (one of them maybe geneless), packed closely so that windows
    overlap and distances tie, and positions around them."""
    n_genes = draw(st.integers(1, 12))
    starts = draw(st.lists(st.integers(0, 300), min_size=n_genes, max_size=n_genes))
    lengths = draw(st.lists(st.integers(0, 120), min_size=n_genes, max_size=n_genes))  # 0: an empty gene
    strands = draw(st.lists(st.sampled_from("+-"), min_size=n_genes, max_size=n_genes))
    contigs = draw(st.lists(st.integers(0, 1), min_size=n_genes, max_size=n_genes))
    genes = pd.DataFrame({"contig_index": contigs, "start": starts, "end": np.add(starts, lengths),
                          "strand": strands, "gene_id": [f"g{i}" for i in range(n_genes)]})
    n = draw(st.integers(1, 30))
    centre = np.array(draw(st.lists(st.integers(-50, 600), min_size=n, max_size=n)), np.int64)
    contig = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    upstream = draw(st.integers(0, 60))
    downstream = draw(st.integers(0, 60))
    return contig, centre, genes, upstream, downstream


@settings(max_examples=300, deadline=None)
@given(layouts())
@example((np.array([0, 0]), np.array([10, 30]),
          pd.DataFrame({"contig_index": [0, 0], "start": [0, 40], "end": [20, 60], "strand": ["+", "-"],
                        "gene_id": ["a", "b"]}), 0, 0))  # distal, equally far from two genes
def test_gene_context_matches_the_slow_reference(layout):
    contig, centre, genes, upstream, downstream = layout
    got = _gene_context(contig, centre, genes, upstream, downstream)
    want = slow_gene_context(contig, centre, genes, upstream, downstream)
    for name, a, b in zip(("region", "gene", "to_tss", "to_tts"), got, want):
        assert a.tolist() == b.tolist(), name


def test_a_promoter_beats_a_nearer_gene_body():
    genes = pd.DataFrame({"contig_index": [0, 0], "start": [0, 1500], "end": [2000, 3000], "strand": ["+", "+"],
                          "gene_id": ["long", "next"]})
    region, gene, to_tss, to_tts = _gene_context(np.array([0]), np.array([1400]), genes, 1000, 500)
    assert (region[0], gene[0], to_tss[0], to_tts[0]) == ("promoter", "next", -100, -1599)


def test_negative_extents_backwards_genes_and_nan_pvalues_are_refused():
    import xarray as xr

    from scanner.cres.cre_map import cre_map

    with pytest.raises(ValueError, match="upstream must be"):
        cre_map(None, None, None, upstream=-1)
    seqlets = xr.Dataset({"seqlet_contig": ("seqlets", [0]), "seqlet_start": ("seqlets", [10]),
                          "seqlet_end": ("seqlets", [20])})
    genes = pd.DataFrame({"contig_index": [0, 0], "start": [0, 500], "end": [100, 400], "strand": ["+", "-"],
                          "gene_id": ["fine", "AT1G01010"]})
    with pytest.raises(ValueError, match=r"1 genes end before they start, e.g. AT1G01010 \(500-400\)"):
        cre_map(seqlets, xr.Dataset(), genes)
    hits = xr.Dataset({"hit_contig": ("hits", [0, 0]), "hit_start": ("hits", [12, 14]), "hit_end": ("hits", [18, 19]),
                       "hit_pvalue": ("hits", [1e-5, np.nan])})
    with pytest.raises(ValueError, match="NaN p-value"):
        cre_map(seqlets, hits, genes.iloc[:1])


def slow_best_hits(seqlet_contig, lo, hi, contig, start, end, pvalue):
    count = np.zeros(len(lo), np.int64)
    best = np.full(len(lo), -1, np.int64)
    for row in range(len(lo)):
        over = [k for k in range(len(start)) if contig[k] == seqlet_contig[row] and end[k] > lo[row] and start[k] < hi[row]]
        count[row] = len(over)
        if over:  # lowest p-value; ties to the earliest start, then the earliest index
            best[row] = min(over, key=lambda k: (pvalue[k], start[k], k))
    return count, best


def slow_most_overlapping(seqlet_contig, lo, hi, contig, start, end):
    best = np.full(len(lo), -1, np.int64)
    for row in range(len(lo)):
        over = [k for k in range(len(start)) if contig[k] == seqlet_contig[row] and end[k] > lo[row] and start[k] < hi[row]]
        if over:  # most shared bases; ties to the earliest start, then the earliest index
            best[row] = min(over, key=lambda k: (-(min(end[k], hi[row]) - max(start[k], lo[row])), start[k], k))
    return best


@st.composite
def intervals(draw):
    n, m = draw(st.integers(1, 20)), draw(st.integers(0, 40))
    def spans(size, longest):
        starts = np.array(draw(st.lists(st.integers(0, 200), min_size=size, max_size=size)), np.int64)
        lengths = np.array(draw(st.lists(st.integers(1, longest), min_size=size, max_size=size)), np.int64)
        contigs = np.array(draw(st.lists(st.integers(0, 2), min_size=size, max_size=size)), np.int64)
        return contigs, starts, starts + lengths
    pvalues = np.array(draw(st.lists(st.sampled_from([1e-5, 2e-5, 3e-5]), min_size=m, max_size=m)))
    hits = spans(m, 30)
    if draw(st.booleans()):  # ordered by contig and start, as scans return them
        order = np.lexsort((hits[1], hits[0]))
        hits, pvalues = tuple(a[order] for a in hits), pvalues[order]
    return spans(n, 40), hits, pvalues


@settings(max_examples=300, deadline=None)
@given(intervals())
def test_overlapping_hits_and_patterns_match_the_slow_reference(data):
    import xarray as xr

    from scanner.cres.cre_map import _best_hits, _patterns

    (s_contig, s_start, s_end), (contig, start, end), pvalue = data
    seqlets = xr.Dataset({"seqlet_contig": ("seqlets", s_contig), "seqlet_start": ("seqlets", s_start),
                          "seqlet_end": ("seqlets", s_end)})
    hits = xr.Dataset({"hit_contig": ("hits", contig), "hit_start": ("hits", start), "hit_end": ("hits", end),
                       "hit_pvalue": ("hits", pvalue)})
    count, best = _best_hits(seqlets, hits)
    want_count, want_best = slow_best_hits(s_contig, s_start, s_end, contig, start, end, pvalue)
    assert count.tolist() == want_count.tolist()
    assert best.tolist() == want_best.tolist()

    names = np.array([f"p{k}" for k in range(len(start))])
    members = xr.Dataset({"pattern_seqlet_contig": ("m", contig), "pattern_seqlet_start": ("m", start),
                          "pattern_seqlet_end": ("m", end), "pattern_seqlet_pattern": ("m", names)})
    pattern, match = _patterns(seqlets, members, {"p0": "MA0001.1 AGL3"})
    chosen = slow_most_overlapping(s_contig, s_start, s_end, contig, start, end)
    assert pattern.tolist() == [names[k] if k >= 0 else "" for k in chosen]
    assert match.tolist() == ["MA0001.1 AGL3" if p == "p0" else "" for p in pattern]
