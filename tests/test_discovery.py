"""Motif discovery with modisco-lite on a run, and the pattern-to-motif step."""

from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from scanner.cres.discovery import pattern_motif


def test_pattern_motif_trims_uninformative_flanks():
    flat = np.full((3, 4), 0.25)
    core = np.eye(4)[[0, 1, 2]] * 0.97 + 0.01
    pattern = SimpleNamespace(sequence=np.vstack([flat, core, flat]), seqlets=[None] * 42)
    motif = pattern_motif(pattern, "pos_pattern_0")
    assert motif.width == 3 and motif.n_sites == 42
    assert "".join("ACGT"[i] for i in motif.probabilities.argmax(axis=1)) == "ACG"
    assert pattern_motif(SimpleNamespace(sequence=np.vstack([flat, flat]), seqlets=[]), "x") is None


@pytest.mark.slow
def test_discover_on_the_demo_model(tmp_path, demo_genome, demo_gff):
    """The demo model's gradient contributions hold patterns; they match plant motifs."""
    pytest.importorskip("modiscolite")
    from pipelines.demo import DEMO_MODEL
    from scanner.inference.run import run_windows
    from scanner.motifs.readers import read
    from scanner.tiling.genes import gene_windows

    windows = gene_windows(demo_genome, demo_gff)
    run_windows(demo_genome, windows, DEMO_MODEL, tmp_path / "run.zarr", method="gradient")
    result = CliRunner().invoke(main, ["discover", str(tmp_path / "run.zarr"), "-o", str(tmp_path / "patterns"),
                                       "--max-seqlets", "1000", "--leiden-runs", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    motifs = read(tmp_path / "patterns" / "patterns.meme")
    assert len(motifs) >= 2 and all(m.motif_id.startswith(("pos_pattern_", "neg_pattern_")) for m in motifs)
    assert (tmp_path / "patterns" / "patterns.h5").stat().st_size > 0
    matches = (tmp_path / "patterns" / "jaspar_matches.tsv").read_text().splitlines()
    assert matches[0].startswith("Query_ID") and len(matches) > 1
    logos = sorted((tmp_path / "patterns" / "logos").glob("*.png"))
    assert len([p for p in logos if ".match." not in p.name]) == len(motifs)
    assert any(".match." in p.name for p in logos)
