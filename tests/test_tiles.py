import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from scanner import ingest_fasta, open_genome, stitch_tiles, tile_windows, window_positions, window_sequences
from scanner.genome.alphabet import decode
from scanner.tiling.tiles import check_tiling, owning_tile, tile_counts

from .conftest import write_fasta


@st.composite
def tilings(draw):
    length = draw(st.integers(1, 60))
    flank = draw(st.integers(0, (length - 1) // 2))
    step = draw(st.integers(1, length - 2 * flank))
    contig_length = draw(st.integers(1, 400))
    return length, step, flank, contig_length


def slow_owner(p, length, step, flank, n):
    """The most central window by exhaustive search; ties to the earlier one."""
    best, best_distance = None, None
    for k in range(n):
        distance = abs((p + 0.5) - (k * step - flank + length / 2))
        if best is None or distance < best_distance:
            best, best_distance = k, distance
    return best


@given(tilings())
def test_owner_is_most_central_window_and_leaves_flank_of_context(tiling):
    length, step, flank, contig_length = tiling
    n = int(tile_counts(np.array([contig_length]), length=length, step=step, flank=flank)[0])
    positions = np.arange(contig_length)
    owners = owning_tile(positions, length=length, step=step, flank=flank, n_tiles=n)
    assert list(owners) == [slow_owner(p, length, step, flank, n) for p in positions]
    starts = owners * step - flank
    assert np.all(positions - starts >= flank)
    assert np.all(starts + length - 1 - positions >= flank)
    assert set(owners) <= set(range(n))
    # n is the fewest windows that cover the contig with flank context
    assert (n - 1) * step + length - 2 * flank >= contig_length
    assert n == 1 or (n - 2) * step + length - 2 * flank < contig_length


def test_check_tiling_rejects_gaps():
    check_tiling(100, 80, 10)
    with pytest.raises(ValueError, match="step must be between 1 and length - 2 \\* flank = 80"):
        check_tiling(100, 81, 10)
    with pytest.raises(ValueError, match="flank"):
        check_tiling(100, 10, 50)


@pytest.fixture(scope="module")
def small_genome(tmp_path_factory):
    rng = np.random.default_rng(0)
    records = [(f"c{i}", "".join(rng.choice(list("ACGTacgtN"), size=n))) for i, n in enumerate([1000, 37, 555])]
    path = tmp_path_factory.mktemp("g")
    store = ingest_fasta(write_fasta(path / "g.fa", records), path / "g.zarr", chunk_size=100)
    return open_genome(store), dict(records)


def test_tile_windows_are_lazy_and_hold_the_genome(small_genome):
    genome, records = small_genome
    tiles = tile_windows(genome, length=50, step=30, flank=10, chunk_size=7)
    assert tiles.window_start.chunks[0][0] == 7
    seqs = window_sequences(genome, tiles).values
    names = tiles.contig_id.values
    for w in [0, 5, 40, tiles.sizes["windows"] - 1]:
        contig = str(names[tiles.window_contig.values[w]])
        start = int(tiles.window_start.values[w])
        padded = "N" * 1000 + records[contig] + "N" * 1000
        assert decode(seqs[w]) == padded[start + 1000 : start + 1050].replace("n", "n")
    assert set(tiles.window_strand.values) == {"+"}
    assert np.all(tiles.window_end.values - tiles.window_start.values == 50)


@pytest.mark.parametrize("window_chunk,out_chunk", [(3, 17), (1000, 1000), (11, 250)])
def test_stitched_track_is_the_genome_for_any_chunking(small_genome, window_chunk, out_chunk):
    genome, records = small_genome
    tiles = tile_windows(genome, length=50, step=30, flank=10, chunk_size=window_chunk)
    # Per-window values = genome positions: stitching must give back 0..L-1 exactly.
    positions = window_positions(tiles)
    tracks = stitch_tiles(positions, tiles, chunk_size=out_chunk)
    for name, seq in records.items():
        np.testing.assert_array_equal(tracks[name].values, np.arange(len(seq)))
    # And codes stitch back to the sequence.
    codes = stitch_tiles(window_sequences(genome, tiles), tiles, chunk_size=out_chunk)
    for name, seq in records.items():
        assert decode(codes[name].values) == seq


def test_stitch_takes_the_most_central_window_value(small_genome):
    genome, _ = small_genome
    tiles = tile_windows(genome, length=50, step=30, flank=10, contigs=["c1"], chunk_size=2)
    n = tiles.sizes["windows"]
    # value = window index, with a trailing targets dim kept
    values = xr.DataArray(np.repeat(np.arange(n)[:, None, None], 50, axis=1).repeat(2, axis=2), dims=("windows", "positions", "targets"))
    track = stitch_tiles(values, tiles, chunk_size=5)["c1"]
    assert track.dims == ("positions", "targets")
    expected = owning_tile(np.arange(37), length=50, step=30, flank=10, n_tiles=n)
    np.testing.assert_array_equal(track.values[:, 0], expected)
    np.testing.assert_array_equal(track.values[:, 1], expected)


def test_stitch_rejects_wrong_shapes(small_genome):
    genome, _ = small_genome
    tiles = tile_windows(genome, length=50, step=30, flank=10)
    with pytest.raises(ValueError, match="positions=50"):
        stitch_tiles(xr.DataArray(np.zeros((tiles.sizes["windows"], 49)), dims=("windows", "positions")), tiles)


def test_same_inputs_give_the_same_task_keys(small_genome):
    genome, _ = small_genome
    a = tile_windows(genome, length=50, step=30, flank=10, chunk_size=7)
    b = tile_windows(genome, length=50, step=30, flank=10, chunk_size=7)
    for name in ("window_contig", "window_start"):
        assert a[name].data.name == b[name].data.name
    assert window_sequences(genome, a).data.name == window_sequences(genome, b).data.name
    c = tile_windows(genome, length=50, step=29, flank=10, chunk_size=7)
    assert c.window_start.data.name != a.window_start.data.name


def test_sparse_windows_are_read_in_separate_spans(small_genome, monkeypatch):
    """Windows far apart in one block are fetched apart, not as one long span."""
    import scanner.tiling.sequences as sequences

    genome, records = small_genome
    tiles = tile_windows(genome, length=50, step=30, flank=10, contigs=["c0"], chunk_size=1000)
    spans = []
    original = sequences.fetch_codes
    monkeypatch.setattr(sequences, "fetch_codes", lambda *a: spans.append(a[3] - a[2]) or original(*a))
    monkeypatch.setattr(sequences, "MAX_SPAN", 200)
    codes = window_sequences(genome, tiles).compute(scheduler="sync")
    assert max(spans) <= 200 and len(spans) > 1
    padded = "N" * 10 + records["c0"] + "N" * 100
    for w, start in enumerate(tiles.window_start.values):
        assert decode(codes[w]) == padded[start + 10 : start + 60]
