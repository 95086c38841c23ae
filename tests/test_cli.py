import json

import numpy as np
import pandas as pd
import xarray as xr
from click.testing import CliRunner

from pipelines.cli import main
from scanner import open_genome


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def test_ingest_info_and_gene_windows(tmp_path, demo_fasta, demo_gff):
    store = tmp_path / "tair10.zarr"
    result = run("genome", "ingest", demo_fasta, "-o", store)
    assert result.exit_code == 0, result.output
    assert "NC_003070.9 2000000" in result.output and "soft-masked 17.8408%" in result.output

    info = json.loads(run("genome", "info", store, "--json").output)
    assert info["contigs"][0]["length"] == 2_000_000

    out = tmp_path / "windows.zarr"
    result = run("windows", "genes", store, "--gff", demo_gff, "--layout", "deepcre", "-o", out, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "592 windows of 3,020 bases" in result.output
    ds = xr.open_zarr(out, consolidated=False)
    assert ds.window_sequence.shape == (592, 3020)
    assert ds.window_sequence.attrs["comment"].startswith("Base codes")
    assert np.all(ds.window_sequence.values[:, 1500:1520] == 4)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tiles_command(tmp_path, demo_store):
    out = tmp_path / "tiles.zarr"
    result = run("windows", "tiles", demo_store, "--length", "1000", "--step", "500", "--flank", "100", "--sequences", "-o", out, "--workers", "1")
    assert result.exit_code == 0, result.output
    ds = xr.open_zarr(out, consolidated=False)
    assert ds.attrs["step"] == 500 and ds.sizes["windows"] == int(np.ceil((2_000_000 - 800) / 500)) + 1
    genome = open_genome(demo_store)
    np.testing.assert_array_equal(ds.window_sequence.values[3], genome.fetch("NC_003070.9", 1400, 2400))


def test_bad_fasta_gives_one_clear_line_and_exit_1(tmp_path):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">c1\nACGT\nACGJ\n")
    result = CliRunner().invoke(main, ["genome", "ingest", str(fasta), "-o", str(tmp_path / "bad.zarr")])
    assert result.exit_code == 1
    assert "line 3, column 4: 'J' in record 'c1'" in result.output
    assert not (tmp_path / "bad.zarr").exists()


def test_bad_tiling_and_missing_store(tmp_path, demo_store):
    result = CliRunner().invoke(main, ["windows", "tiles", str(demo_store), "--length", "100", "--step", "200", "-o", str(tmp_path / "t.zarr")])
    assert result.exit_code == 1 and "step must be between 1 and length" in result.output
    result = CliRunner().invoke(main, ["genome", "info", str(tmp_path)])
    assert result.exit_code == 1 and "not a cre-scanner genome store" in result.output


def test_demo_job(tmp_path):
    result = run("demo", "-o", tmp_path / "demo", "--workers", "1")
    assert result.exit_code == 0, result.output
    for name in ("genome.zarr", "windows.zarr", "gene_windows.tsv", "motif_hits.zarr", "motif_hits.bed", "motif_track.bw"):
        assert (tmp_path / "demo" / name).exists(), name
    hits = xr.open_zarr(tmp_path / "demo" / "motif_hits.zarr", consolidated=False)
    assert hits.sizes["motifs"] == 805 and hits.sizes["hits"] > 100_000
    assert len((tmp_path / "demo" / "gene_windows.tsv").read_text().splitlines()) == 593
    predictions = pd.read_csv(tmp_path / "demo" / "gene_predictions.tsv", sep="\t")
    assert len(predictions) == 592 and "held-out AUROC 0.980" in result.output
    # the committed model recognises the demo genes (these are training genes; its held-out metrics are on its card)
    assert (predictions.probability >= 0.5).mean() > 0.8


def test_demo_model_card():
    from pipelines.demo import DEMO_MODEL
    from scanner.models.model_file import load_model

    model = load_model(DEMO_MODEL)
    card = model.card
    assert card.architecture == "deepcre" and card.input_length == 3020 and card.window_layout["layout"] == "deepcre"
    assert card.training["heldout_regions"] == ["NC_003070.9:25000001-30427671"]
    assert card.metrics["validation"]["auroc"] > 0.95
    assert sum(p.numel() for p in model.module.parameters()) == 387_841
