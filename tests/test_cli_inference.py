"""``scanner predict`` and ``scanner attribute`` end to end on the demo genome."""

import numpy as np
import pandas as pd
import pyBigWig
import torch
from click.testing import CliRunner

from pipelines.cli import main
from scanner.inference.run import open_run
from scanner.models.architectures import build_model
from scanner.models.card import ModelCard
from scanner.models.model_file import save_model


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def small_model(path, layout):
    torch.manual_seed(0)
    length = 1500 if layout == "promoter" else 600
    hyper = {"input_length": length, "targets": 2, "channels": 8, "layers": 2}
    card = ModelCard(architecture="regioncnn", hyperparameters=hyper, input_length=length, targets=["leaf", "root"],
                     window_layout={"layout": layout, "upstream": 1000, "downstream": 500} if layout == "promoter" else {"layout": layout},
                     strand="average")
    return save_model(build_model("regioncnn", **hyper), card, path)


def test_predict_and_attribute_genes(tmp_path, demo_store, demo_gff):
    model = small_model(tmp_path / "p.model", "promoter")
    result = run("predict", demo_store, "--model", model, "--genes", demo_gff, "-o", tmp_path / "pred.zarr",
                 "--tsv", tmp_path / "genes.tsv", "--local")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "genes.tsv", sep="\t")
    assert len(table) == 592 and {"gene_id", "leaf", "root", "leaf_probability"} <= set(table.columns)
    again = run("predict", demo_store, "--model", model, "--genes", demo_gff, "-o", tmp_path / "pred.zarr",
                "--tsv", tmp_path / "genes.parquet", "--local")
    assert again.exit_code == 0, again.output
    parquet = pd.read_parquet(tmp_path / "genes.parquet")
    assert parquet.gene_id.tolist() == table.gene_id.tolist()
    assert np.allclose(parquet.root, table.root, rtol=1e-5)  # the TSV keeps 6 significant digits
    attributed = run("attribute", demo_store, "--model", model, "--genes", demo_gff, "--method", "deeplift-shap",
                     "--references", 2, "--target", "root", "-o", tmp_path / "att.zarr", "--bigwig", tmp_path / "c.bw",
                     "--workers", 2, "--block-size", 128)
    assert attributed.exit_code == 0, attributed.output
    assert "592 windows attributed (deeplift-shap)" in attributed.output and "0 windows above 1e-4" in attributed.output
    ds = open_run(tmp_path / "att.zarr")
    assert ds.window_hypothetical.shape == (592, 1500, 4)
    assert ds.attrs["run_method"] == "deeplift-shap"
    with pyBigWig.open(str(tmp_path / "c.bw")) as bw:
        assert bw.chroms() == {"NC_003070.9": 2_000_000}
        first = ds.window_start.values.min()
        assert bw.intervals("NC_003070.9", int(first), int(first) + 100)  # zeros (such as the fixed first base) are left out


def test_tiles_and_refusals(tmp_path, demo_store, demo_gff):
    model = small_model(tmp_path / "t.model", "tiles")
    result = run("predict", demo_store, "--model", model, "--tiles", "--step", 300, "-o", tmp_path / "tiles.zarr",
                 "--bigwig", tmp_path / "pred.bw", "--local")
    assert result.exit_code == 0, result.output
    ds = open_run(tmp_path / "tiles.zarr")
    assert ds.attrs["layout"] == "tiles" and ds.attrs["step"] == 300
    with pyBigWig.open(str(tmp_path / "pred.bw")) as bw:
        values = np.array(bw.values("NC_003070.9", 0, 2_000_000))
    assert np.isfinite(values).all()
    wrong = run("predict", demo_store, "--model", model, "--genes", demo_gff, "-o", tmp_path / "x.zarr", "--local")
    assert wrong.exit_code != 0 and "use --tiles" in wrong.output
    neither = run("attribute", demo_store, "--model", model, "-o", tmp_path / "x.zarr", "--local")
    assert neither.exit_code != 0 and "exactly one of --genes" in neither.output
