"""Seqlet calling: against modisco-lite and slow references; independent of chunking."""

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.seqlets.seqlets_numba_fns import pool_adjacent_violators
from scanner.seqlets.tfmodisco import Thresholds, call_track, fdr_thresholds, laplace_null, window_sums


@contextmanager
def split_in_parts(split):
    """Passes split into parts of ``split[0]`` values on ``split[1]`` threads, and every
    order-statistics cell of 2 values or more checked for ties (None: as in use)."""
    import scanner.cluster as cluster
    import scanner.parts as parts
    import scanner.seqlets.window_stats as window_stats

    if split is None:
        yield
        return
    saved = parts.MIN_PART, cluster.available_cores, window_stats.LARGE_CELL
    parts.MIN_PART, cluster.available_cores, window_stats.LARGE_CELL = split[0], (lambda: split[1]), 2
    try:
        yield
    finally:
        parts.MIN_PART, cluster.available_cores, window_stats.LARGE_CELL = saved


SPLITS = st.sampled_from([None, (1, 3), (7, 2), (50, 4)])


def synthetic_tracks(seed, n=120, length=300):
    rng = np.random.default_rng(seed)
    tracks = rng.laplace(0, 0.01, (n, length))
    for i in range(n):
        for _ in range(rng.integers(0, 3)):
            p = rng.integers(0, length - 12)
            tracks[i, p : p + 10] += rng.choice([-1, 1]) * rng.uniform(0.02, 0.1)
    return tracks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seqlets_and_thresholds_as_modisco_lite(seed):
    modisco = pytest.importorskip("modiscolite.extract_seqlets")
    tracks = synthetic_tracks(seed)
    options = dict(window_size=21, flank=10, suppress=20, target_fdr=0.2, min_passing_windows_frac=0.03,
                   max_passing_windows_frac=0.2, weak_threshold_for_counting_sign=0.8)
    theirs, _ = modisco.extract_seqlets(tracks.copy(), **options)
    sums = np.stack([window_sums(t, 21) for t in tracks])
    assert np.array_equal(sums, modisco._smooth(tracks, 21))
    ours_null = laplace_null(sums.ravel())
    theirs_null = modisco._laplacian_null(modisco._smooth(tracks, 21), 21, 10000)
    assert all(np.array_equal(a, b) for a, b in zip(ours_null, theirs_null))
    thresholds = fdr_thresholds(sums.ravel(), target_fdr=0.2, min_passing=0.03, max_passing=0.2)
    ours = [(i, int(s)) for i in range(len(tracks))
            for s in call_track(sums[i], tracks.shape[1], thresholds, window=21, flank=10, suppress=20)[0]]
    assert sorted(ours) == sorted((s.example_idx, s.start) for s in theirs)
    assert len(ours) > 20


@settings(max_examples=200)
@given(st.lists(st.tuples(st.floats(-5, 5, allow_nan=False, width=32), st.integers(1, 4)), min_size=1, max_size=40))
def test_isotonic_fit_against_scikit_learn(points):
    isotonic = pytest.importorskip("sklearn.isotonic")
    y = np.array([p[0] for p in points], dtype=np.float64)
    w = np.array([p[1] for p in points], dtype=np.float64)
    expected = isotonic.isotonic_regression(y, sample_weight=w, increasing=True)
    assert np.allclose(pool_adjacent_violators(y.copy(), w.copy()), expected, atol=1e-9)


def slow_greedy(sums, length, thresholds, window, flank, suppress):
    """modisco-lite's extraction on a whole track, as a plain loop."""
    score = np.where((sums >= thresholds.positive) | (sums <= thresholds.negative), np.abs(sums), -np.inf)
    score[:flank] = -np.inf
    score[len(score) - flank :] = -np.inf
    starts = []
    while True:
        p = int(np.argmax(score))
        if score[p] == -np.inf:
            return starts
        if flank <= p < length - flank:
            starts.append(p - flank)
        score[int(max(np.floor(p + 0.5 - suppress), 0)) : int(min(np.ceil(p + 0.5 + suppress), len(score)))] = -np.inf


@settings(max_examples=150)
@given(st.integers(0, 10_000), st.integers(3, 25), st.integers(0, 8), st.floats(0.0, 1.2))
def test_greedy_in_runs_equals_greedy_on_the_whole_track(seed, window, flank, level):
    rng = np.random.default_rng(seed)
    track = rng.normal(0, 0.3, 400)
    track[rng.integers(0, 390, 6)] += rng.normal(0, 3, 6)
    sums = window_sums(track, window)
    thresholds = Thresholds(level * window ** 0.5, -level * window ** 0.5)
    suppress = window // 2 + flank
    ours, _ = call_track(sums, len(sums), thresholds, window=window, flank=flank, suppress=suppress)
    assert sorted(ours) == sorted(slow_greedy(sums, len(sums), thresholds, window, flank, suppress))


def test_seqlets_of_gene_and_tile_runs(tmp_path, demo_genome, demo_gff):
    import torch
    from click.testing import CliRunner

    from pipelines.cli import main
    from scanner.inference.run import run_windows
    from scanner.models.architectures import build_model
    from scanner.models.card import ModelCard
    from scanner.models.model_file import save_model
    from scanner.seqlets.calling import call_seqlets
    from scanner.tiling.coordinates import window_positions
    from scanner.tiling.genes import gene_windows
    from scanner.tiling.tiles import tile_windows

    torch.manual_seed(0)
    hyper = {"input_length": 1500, "targets": 1, "channels": 8, "layers": 2}
    card = ModelCard(architecture="regioncnn", hyperparameters=hyper, input_length=1500, targets=["y"],
                     window_layout={"layout": "promoter", "upstream": 1000, "downstream": 500})
    model = save_model(build_model("regioncnn", **hyper), card, tmp_path / "m.model")
    windows = gene_windows(demo_genome, demo_gff, layout="promoter").isel(windows=slice(0, 40))
    run_windows(demo_genome, windows, model, tmp_path / "genes.zarr", method="gradient")
    seqlets = call_seqlets(tmp_path / "genes.zarr", target_fdr=0.2, min_passing=0.01)
    assert seqlets.sizes["seqlets"] > 0
    positions = window_positions(windows).values
    for w, slot, start, end in zip(seqlets.seqlet_window.values, seqlets.seqlet_slot_start.values,
                                   seqlets.seqlet_start.values, seqlets.seqlet_end.values):
        genome = positions[w, slot : slot + 41]
        assert start == genome.min() and end == genome.max() + 1 and end - start == 41
    assert set(seqlets.seqlet_strand.values) <= {"+", "-"}
    assert np.all(np.sign(seqlets.seqlet_sum.values) == seqlets.seqlet_sign.values)

    card_tiles = ModelCard(architecture="regioncnn", hyperparameters={**hyper, "input_length": 600}, input_length=600,
                           targets=["y"], window_layout={"layout": "tiles"})
    tiles_model = save_model(build_model("regioncnn", **{**hyper, "input_length": 600}), card_tiles, tmp_path / "t.model")
    tiles = tile_windows(demo_genome, length=600, step=300, flank=150).isel(windows=slice(None))
    run_windows(demo_genome, tiles, tiles_model, tmp_path / "tiles.zarr", method="gradient", batch_size=256, block_size=512)
    result = CliRunner().invoke(main, ["seqlets", str(tmp_path / "tiles.zarr"), "-o", str(tmp_path / "s.bed"),
                                       "--zarr", str(tmp_path / "s.zarr")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "s.bed").read_text().splitlines()
    assert lines and all(line.split("\t")[0] == "NC_003070.9" and line.split("\t")[5] == "." for line in lines)
    starts = [int(line.split("\t")[1]) for line in lines]
    assert starts == sorted(starts)
    run_windows(demo_genome, windows, model, tmp_path / "pred.zarr", method="predict")
    refused = CliRunner().invoke(main, ["seqlets", str(tmp_path / "pred.zarr"), "-o", str(tmp_path / "x.bed")])
    assert refused.exit_code == 1 and "predictions only" in refused.output and not (tmp_path / "x.bed").exists()


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=300), st.integers(1, 50))
def test_uniform_histogram_equals_numpy(values, bins):
    from scanner.seqlets.seqlets_numba_fns import uniform_histogram

    values = np.array(values)
    expected, edges = np.histogram(values, bins=bins)
    counts = np.zeros(bins, np.int64)
    uniform_histogram(values, edges, counts)
    assert np.array_equal(counts, expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(finite, st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 5e-324])), min_size=1, max_size=400),
       st.data(), st.booleans(), SPLITS)
def test_order_statistics_equal_sorting(values, data, absolute, split):
    from scanner.seqlets.window_stats import key_histogram, order_statistics

    values = np.array(values)
    ranks = np.array(sorted(data.draw(st.sets(st.integers(0, len(values) - 1), min_size=1))), np.int64)
    with split_in_parts(split):
        low, high, top, finite = key_histogram(values, absolute)
        assert finite
        reference = np.sort(np.abs(values) if absolute else values)
        assert (low, high) == (reference[0], reference[-1])
        signed_top = key_histogram(values)[2]
        assert np.array_equal(order_statistics(values, signed_top, ranks, absolute), reference[ranks])
        if absolute:
            from scanner.seqlets.window_stats import absolute_top, order_statistics_of

            assert np.array_equal(absolute_top(signed_top), top)
            signed, folded = order_statistics_of(values, signed_top, ranks[::-1], ranks)
            assert np.array_equal(signed, np.sort(values)[ranks[::-1]]) and np.array_equal(folded, reference[ranks])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 2000), st.sampled_from([0.0, 0.3, 0.9]), SPLITS)
def test_laplace_fit_and_percentiles_equal_numpy(seed, n, ties, split):
    from scanner.seqlets.tfmodisco import _absolute_percentile, _laplace_fit, _laplace_fit_numpy

    rng = np.random.default_rng(seed)
    values = rng.laplace(rng.normal(0, 0.1), rng.uniform(0.01, 1), n)
    values[rng.random(n) < ties] = rng.choice(values[:3])  # heavy ties, as windowed sums of sparse tracks have
    percentiles = np.array([5.0 * (x + 1) for x in range(19)])
    with split_in_parts(split):
        try:
            theirs = _laplace_fit_numpy(values, percentiles)
        except ValueError:  # all on one side of the mode: both refuse
            with pytest.raises(ValueError, match="one side"):
                _laplace_fit(values, percentiles)
            return
        ours = _laplace_fit(values, percentiles)
        assert ours[:3] == theirs[:3]
        assert np.array_equal(ours[3], theirs[3]) and np.array_equal(ours[4], theirs[4])
        for q in (80.0, 99.99, 0.0, 100.0):
            assert _absolute_percentile(values, q) == np.percentile(np.abs(values), q)


def test_subsampled_thresholds_modisco_exact_and_bernoulli_close():
    """Above 1,000,000 windows modisco-lite subsamples: 'modisco' reproduces it, 'bernoulli' is close."""
    modisco = pytest.importorskip("modiscolite.extract_seqlets")
    tracks = synthetic_tracks(3, n=110, length=10_000)
    sums = np.stack([window_sums(t, 21) for t in tracks])
    assert sums.size > 1_000_000
    options = dict(window_size=21, flank=10, suppress=20, target_fdr=0.2, min_passing_windows_frac=0.03,
                   max_passing_windows_frac=0.2, weak_threshold_for_counting_sign=0.8)
    theirs, _ = modisco.extract_seqlets(tracks.copy(), **options)
    expected = sorted((s.example_idx, s.start) for s in theirs)
    results = {}
    for method in ("modisco", "bernoulli"):
        thresholds = fdr_thresholds(sums.ravel(), target_fdr=0.2, min_passing=0.03, max_passing=0.2, subsample=method)
        results[method] = sorted((i, int(s)) for i in range(len(tracks))
                                 for s in call_track(sums[i], tracks.shape[1], thresholds, window=21, flank=10, suppress=20)[0])
        results[method + " thresholds"] = thresholds
    assert results["modisco"] == expected
    drawn = results["bernoulli thresholds"]
    assert abs(drawn.positive / results["modisco thresholds"].positive - 1) < 0.02
    # the minimum passing fraction binds on these tracks: 'bernoulli' applies it over every window exactly
    passing = np.count_nonzero((sums >= drawn.positive) | (sums <= drawn.negative))
    assert abs(passing - 0.03 * sums.size) <= 2
    assert drawn.positive == np.percentile(np.abs(sums), 100 * (1 - 0.03)) == -drawn.negative
    overlap = len(set(results["bernoulli"]) & set(expected)) / len(set(results["bernoulli"]) | set(expected))
    assert overlap > 0.95


def test_bernoulli_subsample_is_seeded_and_sized():
    from scanner.seqlets.tfmodisco import subsample_windows

    values = np.arange(3_000_000, dtype=np.float64)
    first, second = subsample_windows(values), subsample_windows(values)
    assert np.array_equal(first, second)
    assert abs(len(first) - 1_000_000) < 5_000
    assert np.all(np.diff(first) > 0)  # a subset, in order, no repeats
    assert abs(first.mean() / values.mean() - 1) < 0.01  # spread over the whole range
    assert subsample_windows(values[:1000]) is not None and len(subsample_windows(values[:1000])) == 1000
    with pytest.raises(ValueError, match="bernoulli"):
        subsample_windows(values, method="random")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6), st.integers(3, 25), st.integers(0, 8), st.floats(0.0, 1.2))
def test_rows_called_together_equal_rows_called_alone(seed, rows, window, flank, level):
    from scanner.seqlets.tfmodisco import call_tracks

    rng = np.random.default_rng(seed)
    tracks = rng.normal(0, 0.3, (rows, 200))
    tracks[:, rng.integers(0, 190, 4)] += rng.normal(0, 3, 4)
    sums = window_sums(tracks, window)
    assert np.array_equal(sums, np.stack([window_sums(t, window) for t in tracks]))
    thresholds = Thresholds(level * window ** 0.5, -level * window ** 0.5)
    suppress = window // 2 + flank
    row, start, value = call_tracks(sums, 200, thresholds, window=window, flank=flank, suppress=suppress)
    expected = [(r, int(s), float(v)) for r in range(rows)
                for s, v in zip(*call_track(sums[r], 200, thresholds, window=window, flank=flank, suppress=suppress))]
    assert list(zip(row.tolist(), start.tolist(), value.tolist())) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5, 3.0, -0.25, 1e-3]), finite), min_size=1,
                max_size=300), st.integers(1, 20), SPLITS)
@example([0.0, 2.0, -1.0, 1.1125369292536007e-308], 2, None)  # second-level edges a few subnormals apart
@example([0.0, 2.0, -1.0, 5e-324], 2, None)  # too few subnormals apart for numpy's bins
def test_laplace_mode_equals_numpy(values, bins, split):
    """The mode and the counts below and at it, on values that sit on bin edges and inside empty bins."""
    from scanner.seqlets.window_stats import key_histogram, laplace_mode

    values = np.array(values)
    with split_in_parts(split):
        low, high, _, _ = key_histogram(values)
        try:
            counts, edges = np.histogram(values, bins=bins)
            peak = int(np.argmax(counts))
            inside = values[(edges[peak] < values) & (values < edges[peak + 1])]
            counts, edges = np.histogram(inside, bins=bins)
        except ValueError:  # values a few subnormals apart: numpy refuses the bins, and so do we
            with pytest.raises(ValueError, match="bins"):
                laplace_mode(values, low, high, bins)
            return
        peak = int(np.argmax(counts))
        mu = (edges[peak] + edges[peak + 1]) / 2
        assert laplace_mode(values, low, high, bins) == (mu, np.count_nonzero(values < mu), np.count_nonzero(values == mu))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]) | finite, min_size=1, max_size=60),
       st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]) | finite, min_size=1, max_size=60))
def test_pooled_points_equal_lexsort_and_bincount(values, null):
    """The merged, pooled points of the FDR fit, against the sort-based pooling they replace."""
    from scanner.seqlets.seqlets_numba_fns import pooled_points

    values, null = np.sort(values), np.array(null)
    w = len(values) / len(null)
    x = np.concatenate([values, null])
    y = np.concatenate([np.ones(len(values)), np.zeros(len(null))])
    weight = np.concatenate([np.ones(len(values)), np.full(len(null), w)])
    order = np.lexsort((y, x))
    x, y, weight = x[order], y[order], weight[order]
    first = np.concatenate([[True], x[1:] != x[:-1]])
    group = np.cumsum(first) - 1
    total = np.bincount(group, weights=weight)
    expected = (x[first], total, np.bincount(group, weights=weight * y) / total)
    got = pooled_points(values, np.sort(null, kind="stable"), w)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))


@settings(max_examples=200, deadline=None)
@given(finite, st.floats(1e-6, 1e3), st.integers(1, 1000), st.data())
def test_uniform_histogram_at_and_next_to_the_edges(first, width, bins, data):
    """Values on the edges and one or two floats either side: the estimate alone would misplace them."""
    from scanner.seqlets.seqlets_numba_fns import uniform_histogram

    edges = np.linspace(first, first + width, bins + 1)
    if np.any(edges[:-1] >= edges[1:]):
        return
    picked = edges[data.draw(st.lists(st.integers(0, bins), min_size=1, max_size=50))]
    values = np.concatenate([picked, np.nextafter(picked, np.inf), np.nextafter(picked, -np.inf),
                             np.nextafter(np.nextafter(picked, np.inf), np.inf)])
    expected, numpy_edges = np.histogram(values, bins=edges)
    counts = np.zeros(bins, np.int64)
    uniform_histogram(values, edges, counts)
    assert np.array_equal(counts, expected)
