"""Placing CREs relative to genes: the compiled kernel against a slow, plain reference."""

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
    lengths = draw(st.lists(st.integers(1, 120), min_size=n_genes, max_size=n_genes))
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


def test_negative_extents_are_refused():
    from scanner.cres.cre_map import cre_map

    with pytest.raises(ValueError, match="upstream must be"):
        cre_map(None, None, None, upstream=-1)
