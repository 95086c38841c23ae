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


def _seqlet_table(genome, intervals):
    import xarray as xr

    names = list(genome.contig_names)
    return xr.Dataset({
        "seqlet_contig": ("seqlets", np.zeros(len(intervals), np.int32)),
        "seqlet_start": ("seqlets", np.array([s for s, _ in intervals], np.int64)),
        "seqlet_end": ("seqlets", np.array([e for _, e in intervals], np.int64)),
        "seqlet_sign": ("seqlets", np.ones(len(intervals), np.int8)),
        "seqlet_sum": ("seqlets", np.ones(len(intervals))),
        "seqlet_peak": ("seqlets", np.ones(len(intervals))),
        "contig_id": ("contigs", np.array(names)),
        "contig_length": ("contigs", np.array([genome.contig_length(n) for n in names], np.int64)),
    })


def test_motif_scan_around_seqlets_equals_the_genome_scan_there(demo_genome):
    from scanner.cres.seqlet_scan import scan_seqlets, seqlet_spans
    from scanner.motifs import read, scan

    motifs = read("jaspar2024:plants")[:60]
    length = demo_genome.contig_length(demo_genome.contig_names[0])
    # overlapping, touching, at the contig's first and last bases
    intervals = [(0, 41), (5000, 5041), (5030, 5071), (5071 + 18, 5150), (90_000, 90_041), (length - 41, length)]
    seqlets = _seqlet_table(demo_genome, intervals)
    contig, start, end = seqlet_spans(seqlets, 9)
    assert contig.tolist() == [0] * 4 and start.tolist() == [0, 4991, 89_991, length - 50]
    ours = scan_seqlets(demo_genome, seqlets, motifs, pvalue=1e-3)
    genome = scan(demo_genome, motifs, pvalue=1e-3)

    def rows(hits):
        keep = np.zeros(hits.sizes["hits"], bool)
        for s, e in intervals:
            keep |= (hits.hit_start.values < e) & (hits.hit_end.values > s)
        table = hits[["hit_contig", "hit_start", "hit_end", "hit_strand", "hit_motif", "hit_score", "hit_pvalue"]]
        return set(map(tuple, table.isel(hits=keep).to_dataframe().itertuples(index=False)))

    expected = rows(genome)
    assert len(expected) > 20 and rows(ours) == expected
    assert list(ours.contig_id.values) == list(demo_genome.contig_names)
    _, start, end = seqlet_spans(seqlets, max(m.width for m in motifs) - 1)
    assert ours.attrs["scanned_bases"] == int((end - start).sum())


def test_each_cre_gets_the_pattern_that_overlaps_it_most(demo_genome):
    import xarray as xr

    from scanner.cres.cre_map import cre_map

    seqlets = _seqlet_table(demo_genome, [(100, 141), (500, 541), (900, 941)])
    members = xr.Dataset({
        "pattern_seqlet_pattern": ("pattern_seqlets", np.array(["pos_pattern_0", "pos_pattern_1", "neg_pattern_0"])),
        "pattern_seqlet_contig": ("pattern_seqlets", np.array([0, 0, 0])),
        "pattern_seqlet_start": ("pattern_seqlets", np.array([90, 120, 480])),
        "pattern_seqlet_end": ("pattern_seqlets", np.array([125, 160, 510])),
    })
    hits = xr.Dataset({name: ("hits", np.zeros(0, dtype)) for name, dtype in
                       (("hit_contig", int), ("hit_start", int), ("hit_end", int), ("hit_pvalue", float),
                        ("hit_motif", int), ("hit_strand", "<U1"))})
    hits = hits.assign(motif_id=("motifs", np.zeros(0, "<U8")), motif_name=("motifs", np.zeros(0, "<U8")))
    genes = pd.DataFrame({"contig_index": [0], "start": [1000], "end": [2000], "strand": ["+"], "gene_id": ["G1"]})
    cres = cre_map(seqlets, hits, genes, patterns=members, pattern_matches={"pos_pattern_1": "MA0001.1 AGL3"})
    # 100-141: 25 bases with pattern 0, 21 with pattern 1; 500-541: 10 with neg_pattern_0; 900-941: none
    assert cres.cre_pattern.values.tolist() == ["pos_pattern_0", "neg_pattern_0", ""]
    assert cres.cre_pattern_match.values.tolist() == ["", "", ""]
    members["pattern_seqlet_end"] = ("pattern_seqlets", np.array([115, 160, 510]))
    cres = cre_map(seqlets, hits, genes, patterns=members, pattern_matches={"pos_pattern_1": "MA0001.1 AGL3"})
    assert cres.cre_pattern.values.tolist() == ["pos_pattern_1", "neg_pattern_0", ""]
    assert cres.cre_pattern_match.values.tolist() == ["MA0001.1 AGL3", "", ""]


def test_annotate_tiles_finds_distal_cres(tmp_path, demo_store, demo_gff):
    from pipelines.demo import DEMO_MODEL

    torch.manual_seed(0)
    hyper = {"input_length": 600, "targets": 1, "channels": 8, "layers": 2}
    card = ModelCard(architecture="regioncnn", hyperparameters=hyper, input_length=600, targets=["open"],
                     window_layout={"layout": "tiles"})
    model = save_model(build_model("regioncnn", **hyper), card, tmp_path / "tiles.model")
    out = tmp_path / "genome_wide"
    result = run("annotate", "--genome", demo_store, "--gff", demo_gff, "--model", model, "-o", out, "--tiles",
                 "--step", 300, "--fdr", 0.05, "--max-passing", 0.02, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "tiles" in result.output and "around the seqlets" in result.output
    cres = pd.read_csv(out / "cres.tsv", sep="\t")
    assert len(cres) > 50
    # tiles cover intergenic DNA too, so some CREs lie far from every gene
    assert (cres.region == "distal").sum() > 0 and set(cres.region) > {"distal"}
    distal = cres[cres.region == "distal"]
    assert (np.minimum(distal.distance_tss.abs(), distal.distance_tts.abs()) > 500).all()
    refused = run("annotate", "--genome", demo_store, "--gff", demo_gff, "--model", DEMO_MODEL, "-o", tmp_path / "no",
                  "--tiles")
    assert refused.exit_code == 2 and "gene windows" in refused.output
