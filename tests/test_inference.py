"""Runs over windows on Dask: invariance to blocks and workers, resuming, tracks, routing."""

import numpy as np
import pytest
import torch
from torch import nn

from scanner.inference.run import actual_contributions, open_tracks, run_windows
from scanner.models.card import ModelCard
from scanner.models.model_file import save_model, write_user_card
from scanner.tiling.genes import gene_windows
from scanner.tiling.tiles import tile_windows


class LocalModel(nn.Module):
    """Output = sum over positions of a local feature: a base's gradient sees only 8 bases each side."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 6, 9, padding=4)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(6, 1, 9, padding=4)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x))).sum(dim=2)


@pytest.fixture(scope="module")
def promoter_model(tmp_path_factory):
    from scanner.models.architectures import build_model

    torch.manual_seed(0)
    model = build_model("regioncnn", input_length=1500, channels=8, layers=2)
    card = ModelCard(architecture="regioncnn", hyperparameters={"input_length": 1500, "targets": 1, "channels": 8, "layers": 2},
                     input_length=1500, targets=["active"], window_layout={"layout": "promoter", "upstream": 1000, "downstream": 500})
    return save_model(model, card, tmp_path_factory.mktemp("model") / "promoter.model")


@pytest.fixture(scope="module")
def promoters(demo_genome, demo_gff):
    return gene_windows(demo_genome, demo_gff, layout="promoter").isel(windows=slice(0, 60))


def test_predictions_do_not_depend_on_blocks_or_workers(tmp_path, demo_genome, promoters, promoter_model):
    from scanner.cluster import dask_client

    local = run_windows(demo_genome, promoters, promoter_model, tmp_path / "a.zarr", block_size=8, batch_size=4)
    with dask_client(n_workers=2) as client:
        spread = run_windows(demo_genome, promoters, promoter_model, tmp_path / "b.zarr", block_size=12, batch_size=4,
                             client=client)
        summaries = client.run(lambda: __import__("scanner.inference.model_cache", fromlist=["x"]).cache_size())
    other_batches = run_windows(demo_genome, promoters, promoter_model, tmp_path / "c.zarr", block_size=30, batch_size=30)
    assert np.array_equal(local.window_prediction.values, spread.window_prediction.values)
    assert np.allclose(local.window_prediction.values, other_batches.window_prediction.values, atol=1e-6)
    assert list(local.window_gene_id.values) == list(promoters.window_gene_id.values)
    assert local.target_id.values.tolist() == ["active"] and local.attrs["complete"]
    assert all(size <= 1 for size in summaries.values())  # one model per worker process, loaded once


def test_deeplift_run_resumes_after_a_crash(tmp_path, demo_genome, promoters, promoter_model):
    from scanner.cluster import dask_client

    windows = promoters.isel(windows=slice(0, 12))
    settings = dict(method="deeplift-shap", references=3, block_size=3, batch_size=3, seed=5)
    whole = run_windows(demo_genome, windows, promoter_model, tmp_path / "whole.zarr", **settings)
    calls = []

    def crash(done, total):
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt("killed")

    with dask_client(n_workers=2) as client:
        with pytest.raises(KeyboardInterrupt):
            run_windows(demo_genome, windows, promoter_model, tmp_path / "run.zarr", client=client, on_progress=crash, **settings)
        assert not (tmp_path / "run.zarr").exists() and (tmp_path / ".run.zarr.partial").exists()
        seen = []
        resumed = run_windows(demo_genome, windows, promoter_model, tmp_path / "run.zarr", client=client,
                              on_progress=lambda done, total: seen.append(done), **settings)
    assert seen[0] >= 2  # the finished blocks were not redone
    for name in ("window_hypothetical", "window_prediction", "window_completeness", "window_output"):
        assert np.array_equal(resumed[name].values, whole[name].values, equal_nan=True), name
    assert float(resumed.window_completeness.max()) < 1e-4
    assert not (tmp_path / ".run.zarr.ledger.json").exists()
    actual = actual_contributions(resumed).sum("positions").values
    assert np.allclose(actual, (resumed.window_output - resumed.window_reference_output).values, atol=1e-5)
    # a different seed is a different run: it starts afresh rather than reusing blocks
    other = run_windows(demo_genome, windows, promoter_model, tmp_path / "run.zarr", **{**settings, "seed": 6})
    assert not np.array_equal(other.window_hypothetical.values, whole.window_hypothetical.values)


def test_a_finished_run_is_reused_and_codes_feed_the_windows(tmp_path, demo_genome, promoters, promoter_model, monkeypatch):
    import zarr

    import scanner.inference.run as run_module

    windows = promoters.isel(windows=slice(0, 8))
    first = run_windows(demo_genome, windows, promoter_model, tmp_path / "run.zarr", block_size=4, batch_size=4)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was computed again")

    monkeypatch.setattr(run_module, "run_block", refuse)
    again = run_windows(demo_genome, windows, promoter_model, tmp_path / "run.zarr", block_size=4, batch_size=4)
    assert np.array_equal(again.window_prediction.values, first.window_prediction.values)
    monkeypatch.undo()
    # windows fed from ready-made codes: the same codes give the same predictions, changed codes do not
    codes = first.window_sequence.values.copy()
    zarr.create_array(tmp_path / "codes.zarr", shape=codes.shape, chunks=(4, codes.shape[1]), dtype="uint8")[:] = codes
    same = run_windows(demo_genome, windows, promoter_model, tmp_path / "same.zarr", codes=tmp_path / "codes.zarr",
                       block_size=4, batch_size=4)
    assert np.array_equal(same.window_prediction.values, first.window_prediction.values)
    codes[:, 700:720] = 0
    zarr.open_array(tmp_path / "codes.zarr", mode="r+")[:] = codes
    changed = run_windows(demo_genome, windows, promoter_model, tmp_path / "same.zarr", codes=tmp_path / "codes.zarr",
                          block_size=4, batch_size=4)
    assert not np.array_equal(changed.window_prediction.values, first.window_prediction.values)
    assert np.array_equal(changed.window_sequence.values, codes)


def test_model_and_windows_must_agree(tmp_path, demo_genome, demo_gff, promoter_model):
    deepcre_windows = gene_windows(demo_genome, demo_gff, layout="deepcre").isel(windows=slice(0, 4))
    with pytest.raises(ValueError, match="expects 1500-base windows with alphabet ACGT, but the windows are 3020 bases"):
        run_windows(demo_genome, deepcre_windows, promoter_model, tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()


def test_tiled_track_equals_one_big_window(tmp_path):
    from tests.conftest import write_fasta

    from scanner import ingest_fasta, open_genome
    from scanner.attribution.gradients import gradient_x_input
    from scanner.genome.store import fetch_codes
    from scanner.inference.tracks import tile_tracks

    rng = np.random.default_rng(3)
    sequence = "".join(rng.choice(list("ACGT"), 1000))
    genome = open_genome(ingest_fasta(write_fasta(tmp_path / "g.fa", [("c1", sequence)]), tmp_path / "g.zarr"))
    torch.manual_seed(0)
    model = LocalModel().eval()
    from safetensors.torch import save_file

    save_file(dict(model.state_dict()), str(tmp_path / "local.safetensors"))
    card = ModelCard(architecture="python", source="tests.test_inference:LocalModel", weights="local.safetensors",
                     input_length=120, targets=["signal"], window_layout={"layout": "tiles"}, receptive_field=17)
    path = write_user_card(card, tmp_path / "local.json")
    tiles = tile_windows(genome, length=120, step=80, flank=20)
    run = run_windows(genome, tiles, path, tmp_path / "run.zarr", method="gradient", block_size=5)
    track = tile_tracks(run, actual_contributions(run))["c1"].values
    stored = open_tracks(tmp_path / "run.zarr")["c1"]
    assert np.array_equal(stored.track_actual.values, track) and stored.track_prediction.shape == (1000, 1)
    codes = fetch_codes(str(genome.path), "c1", 0, 1000, 1000)
    big = gradient_x_input(model, codes[None]).actual[0].sum(axis=1)
    # every base owned by a tile has its receptive field (8 bases each side) inside that tile, so it
    # agrees with the one big window -- except within 8 bases of the contig ends, where the tile has
    # N padding (and outputs over it) that the big window does not
    inner = slice(8, 992)
    assert np.allclose(track[inner], big[inner], atol=1e-5)
    assert not np.allclose(track[:8], big[:8], atol=1e-5)


def test_gpu_tasks_carry_the_resource_annotation(tmp_path, demo_genome, promoters, promoter_model, monkeypatch):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, processes=False, resources={"GPU": 1}, dashboard_address=None) as cluster, Client(cluster) as client:
        seen = []
        original = client.submit

        def submit(*args, **kwargs):
            seen.append(kwargs.get("resources"))
            return original(*args, **kwargs)

        monkeypatch.setattr(client, "submit", submit)
        run = run_windows(demo_genome, promoters.isel(windows=slice(0, 8)), promoter_model, tmp_path / "gpu.zarr",
                          client=client, gpu=True, device="cpu", block_size=4, batch_size=4)
    assert seen == [{"GPU": 1}, {"GPU": 1}]
    assert run.sizes["windows"] == 8
