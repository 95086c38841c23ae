import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import ingest_fasta, open_genome
from scanner.genome.alphabet import encode
from scanner.motifs import Motif, scan, scan_sequences
from scanner.motifs.background import background_frequencies
from scanner.motifs.hits import benjamini_hochberg
from scanner.motifs.pssm import _score_distribution_numpy, build_pssms, build_strands

from .conftest import write_fasta


@st.composite
def motifs_strategy(draw, max_motifs=4, max_width=12):
    n = draw(st.integers(1, max_motifs))
    motifs = []
    for i in range(n):
        width = draw(st.integers(1, max_width))
        raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=4 * width, max_size=4 * width))).reshape(width, 4) + 0.01
        sites = draw(st.sampled_from([1, 5, 20, 37.5]))
        motifs.append(Motif(f"m{i}", f"name{i}", raw / raw.sum(axis=1, keepdims=True), sites))
    return motifs


def reference_scan(sequences, motifs, background, threshold):
    """Every window of every sequence scored directly: (sequence, start, strand, motif, scaled score)."""
    hits = set()
    for s, text in enumerate(sequences):
        codes = encode(text) & 7
        for m, motif in enumerate(motifs):
            for strand, pssm in zip("+-", build_pssms(motif, background)):
                for i in range(codes.size - pssm.width + 1):
                    window = codes[i : i + pssm.width]
                    if np.any(window == 4):
                        continue
                    score = int(pssm.cells[np.arange(pssm.width), window].sum())
                    if pssm.pvalues[score] <= threshold:
                        hits.add((s, i, strand, m, score))
    return hits


def dataset_hits(ds, motifs, background):
    pssms = [build_pssms(m, background) for m in motifs]
    out = set()
    for c, start, strand, m, score in zip(
        ds.hit_contig.values, ds.hit_start.values, ds.hit_strand.values, ds.hit_motif.values, ds.hit_score.values
    ):
        pssm = pssms[m][0 if strand == "+" else 1]
        scaled = int(round((score - pssm.width * pssm.offset) * pssm.scale))
        out.add((int(c), int(start), str(strand), int(m), scaled))
    return out


@given(
    st.lists(st.text(alphabet="ACGTACGTACGTNacgt", min_size=0, max_size=120), min_size=1, max_size=3),
    motifs_strategy(),
    st.sampled_from([1e-1, 1e-2, 1e-3]),
)
@settings(max_examples=60)
def test_kernel_matches_slow_reference(sequences, motifs, threshold):
    background = background_frequencies("uniform")
    ds = scan_sequences(sequences, motifs, pvalue=threshold)
    assert dataset_hits(ds, motifs, background) == reference_scan(sequences, motifs, background, threshold)
    # scores and p-values agree with the PSSM tables
    assert np.all(ds.hit_pvalue.values <= threshold)
    assert np.all(ds.hit_end.values - ds.hit_start.values == ds.motif_width.values[ds.hit_motif.values])


@given(motifs_strategy(max_motifs=1, max_width=4), st.sampled_from(["uniform", "nrdb"]))
@settings(max_examples=30)
def test_pvalue_table_is_exact_enumeration(motifs, background_name):
    background = background_frequencies(background_name)
    for pssm in build_pssms(motifs[0], background):
        scores, probabilities = [], []
        for word in itertools.product(range(4), repeat=pssm.width):
            scores.append(int(pssm.cells[np.arange(pssm.width), word].sum()))
            probabilities.append(np.prod(background[list(word)]))
        scores, probabilities = np.array(scores), np.array(probabilities)
        for s in np.unique(scores):
            np.testing.assert_allclose(pssm.pvalues[s], probabilities[scores >= s].sum(), rtol=1e-12)



@given(motifs_strategy(max_motifs=6, max_width=14), st.sampled_from(["uniform", "nrdb"]), st.integers(1, 3),
       st.booleans(), st.sampled_from([1e-1, 1e-3, 1e-5]), st.booleans())
@settings(max_examples=40, deadline=None)
def test_batched_pvalue_tables_equal_array_dynamic_programming(motifs, background_name, threads, both_strands, threshold,
                                                               whole):
    """One flat table filled by threads, each strand's part bit for bit the numpy DP
    over its own PSSM (nothing left over from the strands before it), cut-offs as
    the single tables give them; without ``whole``, the entries from the cut-off to
    the best reachable score are still exact."""
    background = background_frequencies(background_name)
    strands, table, cutoffs = build_strands(motifs, background, threads=threads, both_strands=both_strands,
                                            threshold=threshold, whole=whole)
    expected = [build_pssms(m, background)[0] for m in motifs]
    if both_strands:
        expected += [build_pssms(m, background)[1] for m in motifs]
    assert len(strands) == len(expected)
    assert table.size == sum(e.pvalues.size for e in expected)
    for got, want, cutoff in zip(strands, expected, cutoffs.tolist()):
        np.testing.assert_array_equal(got.cells, want.cells)
        assert (got.scale, got.offset) == (want.scale, want.offset)
        expected_table = _score_distribution_numpy(want.cells, background)
        assert np.shares_memory(got.pvalues, table)
        assert cutoff == want.cutoff(threshold)
        if whole:
            np.testing.assert_array_equal(got.pvalues, expected_table)
        else:
            best = int(want.cells.max(axis=1).sum())
            np.testing.assert_array_equal(got.pvalues[cutoff : best + 1], expected_table[cutoff : best + 1])


@given(st.text(alphabet="ACGTNNa", min_size=0, max_size=80), st.integers(0, 90), st.integers(0, 90),
       st.lists(st.integers(1, 12), min_size=1, max_size=5, unique=True))
@settings(max_examples=200, deadline=None)
def test_clean_window_counts_equal_brute_force(text, first, last, widths):
    from scanner.motifs.scanning import _clean_window_counts

    codes = encode(text)
    widths = np.array(sorted(widths), dtype=np.int64)
    expected = [sum(1 for i in range(first, last) if i + w <= len(text) and "N" not in text[i : i + w]) for w in widths]
    assert _clean_window_counts(codes, first, last, widths).tolist() == expected

def test_benjamini_hochberg_matches_direct_formula():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 500)
    tested = np.array([500])
    q = benjamini_hochberg(p, np.zeros(500, dtype=int), tested)
    order = np.argsort(p)
    direct = np.empty(500)
    running = 1.0
    for rank in range(500, 0, -1):
        running = min(running, p[order[rank - 1]] * 500 / rank)
        direct[order[rank - 1]] = running
    np.testing.assert_allclose(q, direct)
    # On the stored hits only (p <= 0.05) with the full test count, as FIMO does:
    # q = min over stored ranks j >= i of p_j * m / j.
    small = np.sort(p[p <= 0.05])
    expected = np.minimum(np.minimum.accumulate((small * 500 / np.arange(1, small.size + 1))[::-1])[::-1], 1)
    np.testing.assert_allclose(benjamini_hochberg(small, np.zeros(small.size, dtype=int), tested), expected)


@pytest.fixture(scope="module")
def random_genome(tmp_path_factory):
    rng = np.random.default_rng(5)
    seqs = {
        "c1": "".join(rng.choice(list("ACGT"), size=5000)),
        "c2": "".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=777)),
    }
    path = tmp_path_factory.mktemp("mg")
    store = ingest_fasta(write_fasta(path / "g.fa", list(seqs.items())), path / "g.zarr", chunk_size=1000)
    return open_genome(store), seqs


@pytest.mark.parametrize("chunk_size", [13, 256, 1000, 100_000])
def test_genome_scan_is_the_same_for_any_chunk_size(random_genome, chunk_size):
    genome, seqs = random_genome
    motifs = [Motif("w12", "", np.random.default_rng(0).dirichlet(np.ones(4) * 0.3, size=12)), Motif("w3", "", np.eye(4)[[0, 1, 2]] * 0.9 + 0.025)]
    expected = scan_sequences(list(seqs.values()), motifs, pvalue=1e-3)
    got = scan(genome, motifs, pvalue=1e-3, chunk_size=chunk_size, workers=2)
    for name in ("hit_contig", "hit_start", "hit_end", "hit_strand", "hit_motif", "hit_score", "hit_pvalue", "hit_qvalue"):
        np.testing.assert_array_equal(got[name].values, expected[name].values)
    assert got.sizes["hits"] > 0
    np.testing.assert_array_equal(got.motif_tested_windows.values, expected.motif_tested_windows.values)


def test_zarr_output_streams_and_matches(random_genome, tmp_path):
    genome, seqs = random_genome
    motifs = [Motif("w5", "", np.random.default_rng(1).dirichlet(np.ones(4) * 0.3, size=5))]
    in_memory = scan(genome, motifs, pvalue=1e-2, chunk_size=300)
    stored = scan(genome, motifs, pvalue=1e-2, chunk_size=300, output=tmp_path / "hits.zarr")
    for name in in_memory.data_vars:
        np.testing.assert_array_equal(stored[name].values, in_memory[name].values)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]



def test_stored_qvalues_are_benjamini_hochberg_of_every_hit(random_genome, tmp_path, monkeypatch):
    """q-values counted per bank slot, a stored chunk at a time, equal the per-hit
    formula over each motif's hits (both strands) with its tested-window count."""
    import scanner.motifs.hit_store as hit_store

    monkeypatch.setattr(hit_store, "HIT_CHUNK", 64)  # many stored chunks
    genome, _ = random_genome
    rng = np.random.default_rng(4)
    motifs = [Motif(f"m{w}", "", rng.dirichlet(np.ones(4) * 0.4, size=w)) for w in (4, 6, 9)]
    stored = scan(genome, motifs, pvalue=2e-2, chunk_size=700, output=tmp_path / "hits.zarr")
    assert "hit_slot" not in stored and not (tmp_path / "hits.zarr" / "hit_slot").exists()
    p, motif, q = stored.hit_pvalue.values, stored.hit_motif.values, stored.hit_qvalue.values
    assert p.size > 500 and len(np.unique(motif)) == 3
    for m in range(3):
        mine = np.flatnonzero(motif == m)
        tested = int(stored.motif_tested_windows.values[m])
        order = mine[np.argsort(p[mine], kind="stable")]
        ranks = np.searchsorted(np.sort(p[mine]), p[order], side="right")  # ties share the last rank
        direct = np.minimum(np.minimum.accumulate((p[order] * tested / ranks)[::-1])[::-1], 1.0)
        np.testing.assert_allclose(q[order], direct, rtol=1e-15)
    np.testing.assert_array_equal(q, benjamini_hochberg(p, motif, stored.motif_tested_windows.values))

def test_sequence_shorter_than_motif_and_all_n():
    motif = Motif("long", "", np.full((10, 4), 0.25))
    ds = scan_sequences(["ACGT", "NNNNNNNNNNNN"], [motif], pvalue=1.0)
    assert ds.sizes["hits"] == 0
    assert ds.motif_tested_windows.values.tolist() == [0]


def test_indexed_and_dense_kernels_agree_on_jaspar_plants(demo_genome):
    from scanner.motifs import read
    from scanner.motifs.bank import build_bank
    from scanner.motifs.chunk_scan import scan_codes

    codes = demo_genome.fetch("NC_003070.9", 1_000_000, 1_020_000)
    codes[5000:5030] = 4  # an N run
    bank = build_bank(read("jaspar2024:plants")[::8], background_frequencies("uniform"), pvalue=1e-3)
    indexed = scan_codes(codes, 0, codes.size, bank)
    dense = scan_codes(codes, 0, codes.size, bank, dense=True)
    assert indexed[0].size > 1000
    for a, b in zip(indexed, dense):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dense", [False, True])
def test_full_hit_buffers_lose_nothing(demo_genome, dense):
    """The kernels stop when their buffers fill and resume: the hits must not change."""
    from scanner.motifs.bank import build_bank
    from scanner.motifs.chunk_scan import scan_codes

    codes = demo_genome.fetch("NC_003070.9", 300_000, 320_000)
    motifs = [Motif("w12", "", np.random.default_rng(2).dirichlet(np.ones(4) * 0.3, size=12)), Motif("w5", "", np.random.default_rng(3).dirichlet(np.ones(4) * 0.3, size=5))]
    bank = build_bank(motifs, background_frequencies("uniform"), pvalue=0.05)
    roomy = scan_codes(codes, 100, 19_900, bank, dense=dense)
    tight = scan_codes(codes, 100, 19_900, bank, capacity=8, dense=dense)
    assert roomy[0].size > 500 and roomy[0].min() >= 100 and roomy[0].max() < 19_900
    for a, b in zip(roomy, tight):
        np.testing.assert_array_equal(a, b)


def test_killed_scan_resumes_and_redoes_only_unfinished_chunks(random_genome, tmp_path, monkeypatch):
    import json

    import scanner.motifs.hit_store as hit_store
    import scanner.motifs.scanning as scanning

    genome, _ = random_genome
    motifs = [Motif("w6", "", np.random.default_rng(7).dirichlet(np.ones(4) * 0.3, size=6))]
    monkeypatch.setattr(hit_store, "HIT_CHUNK", 64)  # many Zarr chunks, written as the scan goes
    expected = scan(genome, motifs, pvalue=0.05, chunk_size=400, output=tmp_path / "clean.zarr", workers=1)
    n_tasks = 13 + 2  # 5000 / 400 and 777 / 400, rounded up

    original, calls = scanning._scan_chunk, []

    def dies_on_the_ninth(*args):
        calls.append(args[4])
        if len(calls) == 9:
            raise RuntimeError("worker killed")
        return original(*args)

    monkeypatch.setattr(scanning, "_scan_chunk", dies_on_the_ninth)
    with pytest.raises(RuntimeError, match="worker killed"):
        scan(genome, motifs, pvalue=0.05, chunk_size=400, output=tmp_path / "hits.zarr", workers=1)
    assert not (tmp_path / "hits.zarr").exists()  # nothing that looks finished
    ledger = json.loads((tmp_path / ".hits.zarr.partial" / "ledger.json").read_text())
    assert 0 < ledger["tasks_done"] <= 8

    calls.clear()
    monkeypatch.setattr(scanning, "_scan_chunk", lambda *args: calls.append(args[4]) or original(*args))
    resumed = scan(genome, motifs, pvalue=0.05, chunk_size=400, output=tmp_path / "hits.zarr", workers=1)
    assert len(calls) == n_tasks - ledger["tasks_done"]
    for name in expected.data_vars:
        np.testing.assert_array_equal(resumed[name].values, expected[name].values)
    assert not (tmp_path / ".hits.zarr.partial").exists()
    # other inputs do not reuse a stale partial store
    calls.clear()
    scan(genome, motifs, pvalue=0.01, chunk_size=400, output=tmp_path / "other.zarr", workers=1)
    assert len(calls) == n_tasks


def test_scan_on_a_dask_cluster_matches(random_genome, tmp_path):
    from distributed import Client, LocalCluster

    genome, _ = random_genome
    motifs = [Motif("w7", "", np.random.default_rng(9).dirichlet(np.ones(4) * 0.3, size=7))]
    local = scan(genome, motifs, pvalue=1e-2, chunk_size=500)
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        on_cluster = scan(genome, motifs, pvalue=1e-2, chunk_size=500, client=client, output=tmp_path / "h.zarr")
    for name in local.data_vars:
        np.testing.assert_array_equal(on_cluster[name].values, local[name].values)


@given(
    st.lists(st.text(alphabet="ACGTACGTACGTNacgt", min_size=0, max_size=90), min_size=1, max_size=3),
    motifs_strategy(max_motifs=3, max_width=26),
    st.sampled_from([1e-1, 1e-2, 1e-3]),
    st.sampled_from([1, 7, 64]),
)
@settings(max_examples=40)
def test_wide_motifs_and_tiles_match_slow_reference(sequences, motifs, threshold, tile):
    """Motifs wider than the anchor (blocks before and after it), windows at the
    ends and next to Ns, short anchors looked up where the full word holds an N,
    and anchor positions bucketed in tiles of any size."""
    import scanner.motifs.chunk_scan as bank_module

    background = background_frequencies("uniform")
    original = bank_module.TILE
    bank_module.TILE = tile
    try:
        ds = scan_sequences(sequences, motifs, pvalue=threshold)
    finally:
        bank_module.TILE = original
    assert dataset_hits(ds, motifs, background) == reference_scan(sequences, motifs, background, threshold)


def test_hits_are_ordered_by_start_then_motif_strand(demo_genome):
    from scanner.motifs import read
    from scanner.motifs.bank import build_bank
    from scanner.motifs.chunk_scan import scan_codes

    codes = demo_genome.fetch("NC_003070.9", 1_000_000, 1_010_000)
    bank = build_bank(read("jaspar2024:plants")[::20], background_frequencies("uniform"), pvalue=1e-2)
    start, motif, _ = scan_codes(codes, 0, codes.size, bank)
    key = start * bank.base.size + motif
    assert start.size > 1000 and np.all(np.diff(key) > 0)


@given(st.lists(st.lists(st.integers(0, 1000), min_size=4, max_size=4), min_size=1, max_size=6), st.integers(-100, 6000))
@settings(max_examples=100, deadline=None)
def test_anchor_words_found_depth_first_are_every_word_that_reaches(rows, need):
    """The bounded depth-first enumeration keeps exactly the words whose score
    reaches ``need``, in ascending code order, with their slack."""
    from scanner.motifs.bank_numba_fns import anchor_words

    cells = np.array(rows, dtype=np.int64)
    a = cells.shape[0]
    expected = []
    for code, word in enumerate(itertools.product(range(4), repeat=a)):
        score = int(cells[np.arange(a), list(word)].sum())
        if score >= need:
            expected.append((code, score - need))
    columns = [np.empty(4**a, dtype=np.int64) for _ in range(3)]
    n, done = anchor_words(cells, np.array([0]), np.array([0]), np.array([a]), np.array([need]), 0, *columns, 0)
    assert done == 1 and n == len(expected)
    assert list(zip(columns[1][:n].tolist(), columns[2][:n].tolist())) == expected
    assert np.all(columns[0][:n] == 0)
