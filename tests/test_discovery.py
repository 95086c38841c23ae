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
def test_annotate_discovers_patterns_and_names_each_cre_by_them(tmp_path, demo_store, demo_gff):
    """The demo model's gradient contributions hold patterns; they match plant motifs; CREs carry them."""
    pytest.importorskip("modiscolite")
    import pandas as pd

    from pipelines.demo import DEMO_MODEL
    from scanner.motifs.readers import read

    out = tmp_path / "cres"
    result = CliRunner().invoke(main, ["annotate", "--genome", str(demo_store), "--gff", str(demo_gff), "--model",
                                       str(DEMO_MODEL), "-o", str(out), "--discover", "--max-seqlets", "1000",
                                       "--leiden-runs", "2", "--workers", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    patterns = out / "patterns"
    motifs = read(patterns / "patterns.meme")
    assert len(motifs) >= 2 and all(m.motif_id.startswith(("pos_pattern_", "neg_pattern_")) for m in motifs)
    assert (patterns / "patterns.h5").stat().st_size > 0
    matches = pd.read_csv(patterns / "jaspar_matches.tsv", sep="\t")
    assert len(matches) and set(matches.Query_ID) <= {m.motif_id for m in motifs}
    logos = sorted((patterns / "logos").glob("*.png"))
    assert len([p for p in logos if ".match." not in p.name]) == len(motifs)
    assert any(".match." in p.name for p in logos)

    members = pd.read_csv(patterns / "pattern_seqlets.tsv", sep="\t")
    assert set(members.pattern) >= {m.motif_id for m in motifs}
    cres = pd.read_csv(out / "cres.tsv", sep="\t", keep_default_na=False)
    named = cres[cres.pattern != ""]
    assert len(named) >= len(members) * 0.5  # most pattern seqlets are also called as CREs
    for cre in named.sample(min(len(named), 200), random_state=0).itertuples():
        mine = members[(members.pattern == cre.pattern) & (members.contig == cre.contig)]
        assert ((mine.start < cre.end) & (mine.end > cre.start)).any()
    best_q = matches.groupby("Query_ID")["q-value"].min()
    for cre in named.itertuples():
        if cre.pattern not in best_q:
            assert cre.pattern_match == ""
            continue
        target = cre.pattern_match.split(" ")[0]
        mine = matches[(matches.Query_ID == cre.pattern) & (matches.Target_ID == target)]
        assert len(mine) and np.isclose(mine["q-value"].min(), best_q[cre.pattern], rtol=1e-5)  # its best match

    # the same patterns from the discover command on the run
    again = CliRunner().invoke(main, ["discover", str(out / "attribution.zarr"), "-o", str(tmp_path / "p2"),
                                      "--max-seqlets", "1000", "--leiden-runs", "2"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert (tmp_path / "p2" / "patterns.meme").read_text() == (patterns / "patterns.meme").read_text()
