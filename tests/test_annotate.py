"""``scanner annotate``: the stages chained, the config file, the CRE map's annotations."""

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from pipelines.cli import main
from scanner.models.architectures import build_model
from scanner.models.card import ModelCard
from scanner.models.model_file import save_model


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def promoter_model(tmp_path_factory):
    torch.manual_seed(0)
    hyper = {"input_length": 1500, "targets": 1, "channels": 8, "layers": 2}
    card = ModelCard(architecture="regioncnn", hyperparameters=hyper, input_length=1500, targets=["active"],
                     window_layout={"layout": "promoter", "upstream": 1000, "downstream": 500})
    return save_model(build_model("regioncnn", **hyper), card, tmp_path_factory.mktemp("m") / "p.model")


def test_annotate_from_a_config_file(tmp_path, demo_store, demo_gff, promoter_model):
    config = tmp_path / "annotate.yaml"
    config.write_text(f"genome: {demo_store}\ngff: {demo_gff}\nmodel: {promoter_model}\nmotifs: jaspar2024:plants\n"
                      f"fdr: 0.1\nmax_passing: 0.05\noutput: {tmp_path / 'ignored'}\n")
    out = tmp_path / "cres"
    result = run("annotate", "--config", config, "-o", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "ignored").exists()  # the command line wins over the file
    for name in ("attribution.zarr", "seqlets.bed", "motif_hits.zarr", "cres.zarr", "cres.bed", "cres.tsv",
                 "cres_per_gene.tsv", "motif_ranking.tsv", "contributions.bw"):
        assert (out / name).exists(), name
    cres = pd.read_csv(out / "cres.tsv", sep="\t")
    seqlets = (out / "seqlets.bed").read_text().splitlines()
    assert len(cres) == len(seqlets) > 0
    stored = __import__("xarray").open_zarr(out / "seqlets.zarr", consolidated=False)
    assert stored.attrs["max_passing"] == 0.05 and stored.attrs["target_fdr"] == 0.1
    assert set(cres.region) <= {"promoter", "terminator", "genic", "distal"}
    # promoter windows only reach 1,000 bp upstream to 500 bp in: every CRE is near its gene's TSS
    assert (cres.region == "promoter").mean() > 0.9
    assert cres.distance_tss.between(-1000, 500).mean() > 0.9
    with_motif = cres[cres.motif_id.notna()]
    assert len(with_motif) and (with_motif.motif_pvalue <= 1e-4).all() and set(with_motif.strand) <= {"+", "-"}
    hits = pd.read_csv(out / "cres.bed", sep="\t", header=None)
    assert hits[3].str.endswith(("(+)", "(-)")).all()
    ranking = pd.read_csv(out / "motif_ranking.tsv", sep="\t")
    assert np.all(np.diff(ranking.total_contribution.to_numpy()) <= 0)
    again = run("annotate", "--config", config, "-o", out, "--workers", 1)
    assert again.exit_code == 0 and "2/5 attribute" in again.output

    # a contribution logo of the first CRE, and the numbers behind it
    first = cres.iloc[0]
    region = f"{first.contig}:{first.start + 1}-{first.end}"
    plotted = run("plot", "region", region, "--run", out / "attribution.zarr", "-o", tmp_path / "cre.png")
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "cre.png").stat().st_size > 1000
    from scanner.cres.logos import region_contributions
    from scanner.inference.run import open_run

    attribution = open_run(out / "attribution.zarr")
    values = region_contributions(attribution, first.contig, int(first.start), int(first.end))
    assert values.shape == (first.end - first.start, 4)
    assert np.count_nonzero(values, axis=1).max() <= 1  # actual contributions: only the base present
    # the seqlet's core is its middle 21 bases (10-base flanks), in either orientation
    assert np.isclose(values[10:31].sum(), first.contribution, rtol=1e-3, atol=1e-7)
    far = run("plot", "region", f"{first.contig}:1-1200", "--run", out / "attribution.zarr", "-o", tmp_path / "x.png")
    assert far.exit_code == 2 and "at most 1,000" in far.output


@pytest.mark.parametrize(
    "text,message",
    [("colour: blue\n", "unknown key"), ("fdr: lots\n", "key 'fdr'"), ("- a\n- b\n", "mapping"), ("a: [\n", "not valid YAML")],
)
def test_bad_config_files_are_refused(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = run("annotate", "--config", config)
    assert result.exit_code == 2 and message in result.output


def test_missing_inputs_are_named(tmp_path):
    result = run("annotate", "-o", tmp_path / "x")
    assert result.exit_code == 2 and "--genome, --gff, --model" in result.output
