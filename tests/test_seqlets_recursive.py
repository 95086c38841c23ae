"""The recursive p-value seqlet caller: against a slow reference, tangermeme, runs and the CLI."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.seqlets.recursive import call_track_recursive, recursive_null, recursive_seqlets


def slow_recursive(tracks, threshold, min_len, max_len, flanks, n_bins):
    """The method from its definition: every span's p-value, then the greedy calls.

    Returns sorted (track, start, end, p-value) tuples.
    """
    X = np.asarray(tracks)
    low, high = X.min(), X.max()
    if high == low:
        return []
    width = float(high - low) / (n_bins - 1)
    bins = np.clip(np.floor((X - low).astype(np.float64) / width), 0, n_bins - 1).astype(np.int64)
    frequency = np.bincount(bins.ravel(), minlength=n_bins) / bins.size
    sums = {1: frequency}
    for length in range(2, max_len + 1):
        previous, current = sums[length - 1], np.zeros(len(sums[length - 1]) + n_bins - 1)
        for i, a in enumerate(previous):  # each output takes its terms in ascending i
            current[i : i + n_bins] += a * frequency
        sums[length] = current
    tail = {length: np.cumsum(d[::-1])[::-1] for length, d in sums.items()}  # summed from the top down
    out = []
    for row, row_bins in enumerate(bins):
        n = len(row_bins)

        def pvalue(k, length):
            return tail[length][row_bins[k : k + length].sum()]

        def inner_below(k, length):
            return all(pvalue(a, b - a) < threshold for a in range(k, k + length)
                       for b in range(a + min_len, k + length + 1))

        taken = np.zeros(n, bool)
        for length in range(max_len, min_len - 1, -1):
            candidates = [k for k in range(n - length + 1) if inner_below(k, length)]
            key = {k: max(pvalue(k, m) for m in range(min_len, length + 1)) for k in candidates}
            for k in sorted(candidates, key=lambda k: (key[k], k)):
                if not taken[k : k + length].any():
                    taken[k : k + length] = True
                    out.append((row, max(k - flanks, 0), min(k + length + flanks, n), pvalue(k, length)))
    return sorted(out)


def ours_as_tuples(tracks, **options):
    calls = recursive_seqlets(tracks, **options)
    return sorted(zip(calls.track.tolist(), calls.start.tolist(), calls.end.tolist(), calls.pvalue.tolist()))


@st.composite
def quantized_tracks(draw):
    """Small tracks of few distinct values (many tied sums), some with planted runs."""
    rows = draw(st.integers(1, 3))
    length = draw(st.integers(6, 36))
    levels = draw(st.lists(st.lists(st.integers(-4, 6), min_size=length, max_size=length), min_size=rows, max_size=rows))
    tracks = np.array(levels, dtype=np.float64) * 0.25
    for r in range(rows):
        if draw(st.booleans()):
            p = draw(st.integers(0, length - 4))
            tracks[r, p : p + draw(st.integers(2, 8))] += draw(st.sampled_from([1.0, 2.5, 4.0]))
    return tracks.astype(draw(st.sampled_from([np.float32, np.float64])))


recursive_options = st.fixed_dictionaries({
    "threshold": st.sampled_from([0.001, 0.01, 0.05, 0.2, 0.6, 1.0]),
    "min_seqlet_len": st.integers(1, 4),
    "extra": st.integers(0, 6),
    "additional_flanks": st.integers(0, 3),
    "n_bins": st.sampled_from([2, 3, 7, 20, 50]),
})


def _options(drawn):
    drawn = dict(drawn)
    drawn["max_seqlet_len"] = drawn["min_seqlet_len"] + drawn.pop("extra")
    return drawn


@settings(max_examples=80)
@given(quantized_tracks(), recursive_options)
def test_same_seqlets_as_the_slow_reference(tracks, drawn):
    options = _options(drawn)
    expected = slow_recursive(tracks, options["threshold"], options["min_seqlet_len"], options["max_seqlet_len"],
                              options["additional_flanks"], options["n_bins"])
    assert ours_as_tuples(tracks, **options) == expected


@settings(max_examples=60)
@given(quantized_tracks(), recursive_options, st.sampled_from([(1, 3), (5, 2), (37, 4)]))
def test_passes_split_across_threads_give_the_same_seqlets(tracks, drawn, split):
    """Value range, bin counts, passing starts and cluster decoding in parts of any size."""
    import scanner.cluster as cluster
    import scanner.parts as parts
    import scanner.seqlets.recursive as recursive

    options = _options(drawn)
    expected = slow_recursive(tracks, options["threshold"], options["min_seqlet_len"], options["max_seqlet_len"],
                              options["additional_flanks"], options["n_bins"])
    saved = parts.MIN_PART, cluster.available_cores, recursive.DECODE_GROUP
    parts.MIN_PART, cluster.available_cores, recursive.DECODE_GROUP = split[0], (lambda: split[1]), 1
    try:
        assert ours_as_tuples(tracks, **options) == expected
    finally:
        parts.MIN_PART, cluster.available_cores, recursive.DECODE_GROUP = saved


def test_adjacent_passing_bases_make_one_seqlet():
    # With min_seqlet_len 1, two neighbouring high bases pass one by one and together.
    tracks = np.zeros((2, 32), np.float32)
    tracks[1, :2] = 1.0
    options = dict(threshold=0.05, min_seqlet_len=1, max_seqlet_len=2, n_bins=2)
    assert ours_as_tuples(tracks, **options) == slow_recursive(tracks, 0.05, 1, 2, 0, 2) == [(1, 0, 2, (2 / 64) ** 2)]


def test_reference_finds_seqlets_on_planted_runs():
    # Guards the property test above from passing on empty results alone.
    tracks = np.zeros((2, 30))
    tracks[0, 5:12] = 3.0
    tracks[1, 20:24] = 2.0
    tracks += np.random.default_rng(0).normal(0, 0.1, tracks.shape)
    calls = ours_as_tuples(tracks, threshold=0.05, min_seqlet_len=2, max_seqlet_len=8, n_bins=20)
    assert calls == slow_recursive(tracks, 0.05, 2, 8, 0, 20)
    assert {c[0] for c in calls} == {0, 1}
    assert any(c[1] <= 5 and c[2] >= 12 for c in calls if c[0] == 0)


def _tangermeme_sorted(tracks, **options):
    seqlet = pytest.importorskip("tangermeme.seqlet")
    import torch

    theirs = seqlet.recursive_seqlets(torch.from_numpy(np.ascontiguousarray(tracks)), **options)
    # flanks clipped at a track's start can give two seqlets one start: the end breaks the tie
    return theirs.sort_values(["example_idx", "start", "end"], kind="mergesort").reset_index(drop=True)


def _assert_same_as_tangermeme(tracks, **options):
    theirs = _tangermeme_sorted(tracks, **options)
    ours = recursive_seqlets(tracks, **options)
    order = np.lexsort((ours.end, ours.start, ours.track))
    ours = type(ours)(*(field[order] for field in ours))
    assert np.array_equal(ours.track, theirs.example_idx.values)
    assert np.array_equal(ours.start, theirs.start.values)
    assert np.array_equal(ours.end, theirs.end.values)
    # Same null, bins and lookups: the p-values agree bit for bit.
    assert np.array_equal(ours.pvalue, theirs["p-value"].values)
    # tangermeme sums the span as a difference of running sums over the row; ours
    # adds the span's values directly, so the two round differently.
    assert np.allclose(ours.attribution, theirs.attribution.values, rtol=1e-9, atol=1e-9)
    return ours


def synthetic_tracks(seed, n=40, length=400, dtype=np.float32):
    rng = np.random.default_rng(seed)
    tracks = rng.laplace(0, 0.01, (n, length))
    for i in range(n):
        for _ in range(rng.integers(0, 4)):
            p = rng.integers(0, length - 12)
            tracks[i, p : p + 10] += rng.choice([-1, 1]) * rng.uniform(0.02, 0.1)
    return tracks.astype(dtype)


@pytest.mark.parametrize("seed, dtype, options", [
    (0, np.float32, {}),
    (1, np.float64, {}),
    (2, np.float32, dict(threshold=0.05, min_seqlet_len=3, max_seqlet_len=12, additional_flanks=4, n_bins=200)),
    (3, np.float64, dict(threshold=1e-4, min_seqlet_len=6, max_seqlet_len=30, additional_flanks=1, n_bins=1000)),
])
def test_same_seqlets_as_tangermeme(seed, dtype, options):
    ours = _assert_same_as_tangermeme(synthetic_tracks(seed, dtype=dtype), **options)
    assert len(ours.start) > 20


@settings(max_examples=40)
@given(quantized_tracks(), recursive_options)
def test_same_seqlets_as_tangermeme_on_tied_tracks(tracks, drawn):
    _assert_same_as_tangermeme(tracks, **_options(drawn))


def test_a_null_serves_tracks_of_any_length():
    tracks = synthetic_tracks(4, n=3, length=500, dtype=np.float64)
    pieces = [tracks[0], tracks[1, :137], tracks[2, :9]]
    null = recursive_null(pieces, max_seqlet_len=25)
    flat = np.concatenate(pieces)
    whole_null = recursive_null(flat[None, :], max_seqlet_len=25)
    assert np.array_equal(null.tails, whole_null.tails)
    listed = recursive_seqlets(pieces)
    for i, piece in enumerate(pieces):
        alone = call_track_recursive(piece, null, index=i)
        mine = listed.track == i
        assert np.array_equal(alone.start, listed.start[mine]) and np.array_equal(alone.pvalue, listed.pvalue[mine])


def test_constant_tracks_have_no_seqlets():
    assert recursive_null(np.ones((2, 50))) is None
    assert len(recursive_seqlets(np.ones((2, 50))).start) == 0


@pytest.mark.parametrize("tracks, options, message", [
    (np.zeros((2, 3)) + np.arange(3), {}, "fewer than min_seqlet_len"),
    (np.array([[0.0, 1.0, np.nan, 2.0, 3.0]]), dict(min_seqlet_len=2), "non-finite value"),
    (np.array([[0.0, 1.0, np.inf, 2.0, 3.0]]), dict(min_seqlet_len=2), "position 2"),
    (np.arange(10.0)[None], dict(threshold=0.0), "threshold"),
    (np.arange(10.0)[None], dict(threshold=1.5), "threshold"),
    (np.arange(10.0)[None], dict(threshold=float("nan")), "threshold"),
    (np.arange(10.0)[None], dict(min_seqlet_len=5, max_seqlet_len=4), "min_seqlet_len"),
    (np.arange(10.0)[None], dict(n_bins=1), "n_bins"),
    (np.arange(10.0)[None], dict(additional_flanks=-1), "additional_flanks"),
    (np.zeros((0, 10)), {}, "at least one"),
])
def test_bad_inputs_are_refused(tracks, options, message):
    with pytest.raises(ValueError, match=message):
        recursive_seqlets(tracks, **options)


def test_a_track_beyond_the_null_is_refused():
    null = recursive_null(synthetic_tracks(5, n=2), max_seqlet_len=10)
    with pytest.raises(ValueError, match="beyond the null"):
        call_track_recursive(synthetic_tracks(5, n=1)[0], null, max_seqlet_len=20)


@pytest.fixture(scope="module")
def gene_run(tmp_path_factory, demo_genome, demo_gff):
    import torch

    from scanner.inference.run import run_windows
    from scanner.models.architectures import build_model
    from scanner.models.card import ModelCard
    from scanner.models.model_file import save_model
    from scanner.tiling.genes import gene_windows

    tmp_path = tmp_path_factory.mktemp("recursive")
    torch.manual_seed(0)
    hyper = {"input_length": 1500, "targets": 1, "channels": 8, "layers": 2}
    card = ModelCard(architecture="regioncnn", hyperparameters=hyper, input_length=1500, targets=["y"],
                     window_layout={"layout": "promoter", "upstream": 1000, "downstream": 500})
    model = save_model(build_model("regioncnn", **hyper), card, tmp_path / "m.model")
    windows = gene_windows(demo_genome, demo_gff, layout="promoter").isel(windows=slice(0, 24))
    run_windows(demo_genome, windows, model, tmp_path / "genes.zarr", method="gradient")
    return tmp_path / "genes.zarr", windows


def test_call_seqlets_recursive_on_a_gene_run(gene_run):
    from scanner.inference.run import actual_contributions, open_run
    from scanner.seqlets.calling import call_seqlets
    from scanner.tiling.coordinates import window_positions
    from scanner.variables import validate

    path, windows = gene_run
    seqlets = call_seqlets(path, method="recursive", threshold=0.01, additional_flanks=2)
    validate(seqlets)
    assert seqlets.attrs["method"] == "recursive" and seqlets.sizes["seqlets"] > 10
    assert seqlets.seqlet_pvalue.attrs["comment"] and np.all(seqlets.seqlet_pvalue.values < 0.01)
    actual = actual_contributions(open_run(path)).values.astype(np.float64)
    theirs = _tangermeme_sorted(actual, threshold=0.01, additional_flanks=2)
    ours = sorted(zip(seqlets.seqlet_window.values.tolist(), seqlets.seqlet_slot_start.values.tolist(),
                      seqlets.seqlet_pvalue.values.tolist()))
    assert ours == list(zip(theirs.example_idx, theirs.start, theirs["p-value"]))
    positions = window_positions(windows).values
    for w, slot, start, end in zip(seqlets.seqlet_window.values, seqlets.seqlet_slot_start.values,
                                   seqlets.seqlet_start.values, seqlets.seqlet_end.values):
        stop = int(theirs.end[(theirs.example_idx == w) & (theirs.start == slot)].iloc[0])
        genome = positions[w, slot:stop]
        assert start == genome.min() and end == genome.max() + 1
    # Without flanks the seqlet is its called span, whose sum is tangermeme's attribution.
    bare = call_seqlets(path, method="recursive", threshold=0.01)
    theirs = _tangermeme_sorted(actual, threshold=0.01)
    order = np.lexsort((bare.seqlet_slot_start.values, bare.seqlet_window.values))
    assert np.allclose(bare.seqlet_sum.values[order], theirs.attribution.values, rtol=1e-9, atol=1e-9)
    assert np.all(seqlets.seqlet_sign.values == 1)
    tfmodisco = call_seqlets(path, target_fdr=0.2, min_passing=0.01)
    assert "seqlet_pvalue" not in tfmodisco and tfmodisco.attrs["method"] == "tfmodisco"


def test_cli_seqlets_recursive(gene_run, tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import main

    path, _ = gene_run
    result = CliRunner().invoke(main, ["seqlets", str(path), "--method", "recursive", "--threshold", "0.001",
                                       "--max-seqlet-len", "20", "-o", str(tmp_path / "r.bed"),
                                       "--zarr", str(tmp_path / "r.zarr")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "at p < 0.001 (lengths 4-20)" in result.output and "0 negative" in result.output
    lines = (tmp_path / "r.bed").read_text().splitlines()
    assert lines and all(line.split("\t")[3].startswith("pos_") for line in lines)
    assert all(int(line.split("\t")[2]) - int(line.split("\t")[1]) <= 20 for line in lines)
    stored = __import__("xarray").open_zarr(tmp_path / "r.zarr", consolidated=False)
    assert stored.sizes["seqlets"] == len(lines) and float(stored.seqlet_pvalue.max()) < 0.001
    refused = CliRunner().invoke(main, ["seqlets", str(path), "--method", "recursive", "--threshold", "2",
                                        "-o", str(tmp_path / "x.bed")])
    assert refused.exit_code == 1 and "threshold" in refused.output and not (tmp_path / "x.bed").exists()
