"""Agreement with the MEME suite's FIMO (through pymemesuite) on real sequence."""

import pytest

from scanner.genome.alphabet import decode
from scanner.motifs import read, scan_sequences
from scanner.motifs.writers import write_meme

pymemesuite = pytest.importorskip("pymemesuite")


def test_same_hits_and_pvalues_as_fimo_on_100kb_with_20_jaspar_plant_motifs(demo_genome, tmp_path):
    from pymemesuite.common import MotifFile, Sequence
    from pymemesuite.fimo import FIMO

    sequence = decode(demo_genome.fetch("NC_003070.9", 500_000, 600_000), soft_mask=False)
    # Both tools read the same MEME file, so they start from identical numbers.
    meme = write_meme(read("jaspar2024:plants")[::40][:20], tmp_path / "m.meme")
    motifs = read(meme)
    assert len(motifs) == 20

    motif_file = MotifFile(str(meme), symmetrical=True)  # FIMO's default: NRDB background, both strands
    background = motif_file.background
    fimo = FIMO(both_strands=True, threshold=1e-4)
    theirs = {}
    for motif in motif_file:
        for hit in fimo.score_motif(motif, [Sequence(sequence, name=b"s")], background).matched_elements:
            theirs[(motif.accession.decode(), min(hit.start, hit.stop) - 1, hit.strand)] = (hit.pvalue, hit.score)

    ds = scan_sequences([sequence], motifs, pvalue=1e-4, background="nrdb")
    ours = {
        (str(ds.motif_id.values[m]), int(s), str(strand)): (float(p), float(score))
        for m, s, strand, p, score in zip(
            ds.hit_motif.values, ds.hit_start.values, ds.hit_strand.values, ds.hit_pvalue.values, ds.hit_score.values
        )
    }
    # pymemesuite keeps p < threshold and skips each sequence's last window; neither
    # matters here (no p-value equals 1e-4, no hit in the last window).
    assert len(theirs) > 300
    assert set(ours) == set(theirs)
    for key, (p, score) in theirs.items():
        assert ours[key][0] == pytest.approx(p, rel=1e-12)
        assert ours[key][1] == pytest.approx(score, abs=1e-9)
