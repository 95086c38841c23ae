"""The training, model and evaluation commands, end to end on the demo genome."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from scanner.models.model_file import load_model, read_card

SMALL = ["--hyper", "channels=8", "--hyper", "layers=2", "--epochs", "2", "--batch-size", "32", "--device", "cpu"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def peaks(tmp_path_factory, demo_genome, demo_gff):
    """A BED of the demo genes' promoters: real positives with a real signal."""
    from scanner.tiling.gff import read_gff3

    genes = read_gff3(demo_gff).table
    tss = np.where(genes.strand == "+", genes.start, genes.end)
    path = tmp_path_factory.mktemp("bed") / "promoters.bed"
    contig = demo_genome.contig_names[0]
    lines = [f"{contig}\t{max(t - 150, 0)}\t{t + 50}\t{g}\t0\t{s}" for t, g, s in zip(tss, genes.gene_id, genes.strand)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_regions_info_resume_and_evaluate(tmp_path, demo_store, peaks):
    import torch

    out = tmp_path / "models"
    args = ["train", "regions", "--genome", demo_store, "--positives", peaks, "--arch", "regioncnn", "--length", 400,
            "--holdout", "NC_003070.9:1500001-2000000", *SMALL, "--threads", 1, "-o", out]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = run(*args)
        assert torch.get_num_threads() == 1  # --threads capped torch's threads
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    assert "fold holdout epoch 2/2" in result.output
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert metrics.fold.tolist() == ["holdout"] and 0 <= metrics.auroc[0] <= 1
    assert len(pd.read_csv(out / "history.tsv", sep="\t")) == 2
    card = read_card(out / "holdout.model")
    assert card.input_length == 400 and card.strand == "average" and card.window_layout["layout"] == "regions"
    assert card.training["heldout_regions"] == ["NC_003070.9:1500001-2000000"]

    info = run("model", "info", out / "holdout.model")
    assert info.exit_code == 0
    assert "regioncnn" in info.output and "400 bases, alphabet ACGT" in info.output and "validation auroc" in info.output

    before = (out / "holdout.model").stat().st_mtime_ns
    again = run(*args)
    assert "already trained on the same data and settings; kept" in again.output
    assert (out / "holdout.model").stat().st_mtime_ns == before

    evaluated = run("evaluate", "--model", out / "holdout.model", "--genome", demo_store, "--positives", peaks,
                    "--device", "cpu", "-o", tmp_path / "eval.tsv")
    assert evaluated.exit_code == 0, evaluated.output
    table = pd.read_csv(tmp_path / "eval.tsv", sep="\t")
    assert {"accuracy", "auroc", "auprc", "f1"} <= set(table.columns)


def test_train_expression_and_refusals(tmp_path, demo_store, demo_gff, demo_genome):
    from scanner.tiling.gff import read_gff3

    genes = read_gff3(demo_gff).table.gene_id.tolist()
    table = tmp_path / "tpm.tsv"
    values = np.random.default_rng(0).gamma(2.0, 2.0, len(genes))
    table.write_text("gene\tlog_max_tpm\n" + "".join(f"{g}\t{v:.3f}\n" for g, v in zip(genes, values)))
    out = tmp_path / "expr"
    base = ["train", "expression", "--genome", demo_store, "--gff", demo_gff, "--expression", table,
            "--layout", "promoter", "--arch", "regioncnn", *SMALL]
    refused = run(*base, "--folds", "by-chromosome", "-o", out)
    assert refused.exit_code == 1 and "at least 2 contigs" in refused.output
    no_threads = run(*base, "--threads", 0, "-o", out)
    assert no_threads.exit_code == 2 and "--threads" in no_threads.output
    result = run(*base, "--holdout", "NC_003070.9:1-500000", "-o", out)
    assert result.exit_code == 0, result.output
    card = read_card(out / "holdout.model")
    assert card.window_layout["layout"] == "promoter" and card.input_length == 1500
    counts = card.training["class_counts_train"]
    assert counts["0"] == counts["1"]  # balanced by down-sampling
    assert card.training["windows_labelled"] < len(genes)  # the middle half is dropped

    tiles_model = load_model(out / "holdout.model")
    with pytest.raises(ValueError, match="trained on 'promoter' windows, but the windows have layout 'deepcre'"):
        tiles_model.card.check_windows(1500, "deepcre")
    evaluated = run("evaluate", "--model", out / "holdout.model", "--genome", demo_store, "--gff", demo_gff,
                "--expression", table, "--device", "cpu")
    assert evaluated.exit_code == 0, evaluated.output
    assert "auroc" in evaluated.output


def test_argminn_read_out_commands(tmp_path, demo_store, peaks):
    out = tmp_path / "argminn"
    result = run("train", "regions", "--genome", demo_store, "--positives", peaks, "--arch", "argminn", "--length", 200,
                 "--hyper", "motifs=4", "--epochs", "2", "--device", "cpu", "--holdout", "NC_003070.9:1500001-2000000",
                 "-o", out)
    assert result.exit_code == 0, result.output
    meme = tmp_path / "filters.meme"
    shown = run("model", "motifs", out / "holdout.model", "-o", meme)
    assert shown.exit_code == 0, shown.output
    from scanner.motifs.readers import read

    motifs = read(meme)
    assert motifs and all(m.motif_id.startswith("holdout_filter_") for m in motifs)
    hits = tmp_path / "instances.tsv"
    again = run("model", "motifs", out / "holdout.model", "-o", meme, "--genome", demo_store, "--positives", peaks,
                "--hits", hits)
    assert again.exit_code == 0, again.output
    assert {"window", "name", "start", "end", "filter", "attention"} <= set(pd.read_csv(hits, sep="\t").columns)
    no_genome = run("model", "motifs", out / "holdout.model", "-o", meme, "--hits", hits)
    assert no_genome.exit_code != 0 and "--hits needs --genome" in no_genome.output


def test_train_regions_against_given_negatives(tmp_path, demo_store, demo_genome, peaks):
    from scanner.tiling.regions import read_bed, region_windows

    lines = peaks.read_text().splitlines()
    negatives = tmp_path / "negatives.bed"
    # each promoter moved 700 bases downstream: some land on another gene's promoter
    shifted = [line.split("\t") for line in lines]
    negatives.write_text("".join(f"{c}\t{int(s) + 700}\t{int(e) + 700}\tneg{i}\n" for i, (c, s, e, *_) in enumerate(shifted)))
    pos = region_windows(demo_genome, read_bed(peaks), length=400)
    neg = region_windows(demo_genome, read_bed(negatives), length=400)
    p_start, p_end = pos.window_start.values, pos.window_end.values
    clash = [bool(((p_start < e) & (s < p_end)).any()) for s, e in zip(neg.window_start.values, neg.window_end.values)]
    assert 0 < sum(clash) < len(clash)

    out = tmp_path / "models"
    base = ["train", "regions", "--genome", demo_store, "--positives", peaks, "--arch", "regioncnn", "--length", 400,
            "--holdout", "NC_003070.9:1500001-2000000", *SMALL]
    result = run(*base, "--negatives", negatives, "-o", out)
    assert result.exit_code == 0, result.output
    training = read_card(out / "holdout.model").training
    assert training["negatives_path"] == str(negatives) and training["positives_path"] == str(peaks)
    assert training["negatives_overlapping_positives"] == sum(clash)
    assert training["negatives"] == len(clash) - sum(clash) and "background" not in training
    assert f"negatives {len(clash) - sum(clash):,}" in result.output

    both = run(*base, "--negatives", negatives, "--ratio", 2, "-o", tmp_path / "x")
    assert both.exit_code == 2 and "not both" in both.output
    genes = run("train", "regions", "--genome", demo_store, "--genes", peaks, "--negatives", negatives, *SMALL,
                "-o", tmp_path / "y")
    assert genes.exit_code == 2 and "--negatives needs --positives" in genes.output


def test_negatives_all_on_positives_are_refused(demo_genome, peaks):
    from scanner.models.recipes import region_set
    from scanner.tiling.regions import read_bed, region_windows

    windows = region_windows(demo_genome, read_bed(peaks), length=400)
    with pytest.raises(ValueError, match="no negatives left"):
        region_set(demo_genome, windows, negatives=windows)
    with pytest.raises(ValueError, match="negative windows are 300 bases long, the positive ones 400"):
        region_set(demo_genome, windows, negatives=region_windows(demo_genome, read_bed(peaks), length=300))


def test_negatives_all_skipped_are_refused_by_name(tmp_path, demo_store, peaks):
    negatives = tmp_path / "negatives.bed"
    negatives.write_text("chrUn\t100\t300\tn1\nchrUn\t900\t1100\tn2\n")
    result = run("train", "regions", "--genome", demo_store, "--positives", peaks, "--negatives", negatives,
                 "--arch", "regioncnn", "--length", 400, *SMALL, "-o", tmp_path / "models")
    assert result.exit_code != 0
    assert "no negative windows: every negative region was skipped (2 on contigs not in the genome" in result.output
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    positives = run("train", "regions", "--genome", demo_store, "--positives", negatives, "--arch", "regioncnn",
                    "--length", 400, *SMALL, "-o", tmp_path / "models")
    assert positives.exit_code != 0
    assert "no positive windows: every positive region was skipped (2 on contigs not in the genome" in positives.output
