import logging

import numpy as np
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from scanner.genome.alphabet import decode
from scanner.genome.encoding import reverse_complement
from scanner.motifs import Motif, MotifFormatError, read, scan_sequences, to_bed, to_fimo_tsv
from scanner.motifs.writers import write_meme

MEME = """MEME version 4

ALPHABET= ACGT

Background letter frequencies
A 0.3 C 0.2 G 0.2 T 0.3

MOTIF m1 ALT1
letter-probability matrix: alength= 4 w= 3 nsites= 12 E= 0
1.0 0.0 0.0 0.0
0.0 1.0 0.0 0.0
0.25 0.25 0.25 0.25

MOTIF m2
letter-probability matrix: alength= 4 w= 2
0.5 0.5 0 0
0 0 0.5 0.5
"""


def test_meme_reader(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(MEME)
    m1, m2 = read(path)
    assert (m1.motif_id, m1.name, m1.width, m1.n_sites) == ("m1", "ALT1", 3, 12)
    assert (m2.motif_id, m2.name, m2.n_sites) == ("m2", "", 20)
    np.testing.assert_array_equal(m1.probabilities[0], [1, 0, 0, 0])


def test_write_meme_round_trips(tmp_path):
    motifs = read("jaspar2024:plants")[:5]
    again = read(write_meme(motifs, tmp_path / "x.meme"))
    for a, b in zip(motifs, again):
        assert (a.motif_id, a.name, a.n_sites) == (b.motif_id, b.name, b.n_sites)
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)


def test_jaspar_pfm_and_homer_readers(tmp_path):
    (tmp_path / "a.jaspar").write_text(">MA9999.1 TEST\nA [ 10 0 5 ]\nC [ 0 10 5 ]\nG [ 0 0 0 ]\nT [ 0 0 0 ]\n")
    (motif,) = read(tmp_path / "a.jaspar")
    assert (motif.motif_id, motif.name, motif.n_sites) == ("MA9999.1", "TEST", 10)
    np.testing.assert_array_equal(motif.probabilities[2], [0.5, 0.5, 0, 0])
    (tmp_path / "b.pfm").write_text("1 2\n1 0\n1 0\n1 2\n")
    (pfm,) = read(tmp_path / "b.pfm")
    np.testing.assert_array_equal(pfm.probabilities, [[0.25] * 4, [0.5, 0, 0, 0.5]])
    (tmp_path / "c.motif").write_text(">ACG\tmyTF/Homer\t6.5\n0.9 0.05 0.03 0.02\n0.1 0.8 0.05 0.05\n0.1 0.1 0.7 0.1\n")
    (homer,) = read(tmp_path / "c.motif")
    assert (homer.motif_id, homer.name, homer.width) == ("myTF/Homer", "ACG", 3)


@pytest.mark.parametrize(
    "text,message",
    [
        ("MOTIF x\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n", "line 2: motif 'x' declares w= 2 but has 1 rows"),
        ("MOTIF x\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.5\n", "line 3: expected 4 probabilities"),
        ("MOTIF x\nletter-probability matrix: alength= 4 w= 1\n0.25 zz 0.25 0.25\n", "line 3: expected numbers"),
        ("MOTIF x\nletter-probability matrix: alength= 4 w= 0\n", "motif 'x' is empty"),
        ("MOTIF x\nletter-probability matrix: alength= 4 w= 1\n0 0 0 0\n", "all zero"),
    ],
)
def test_malformed_meme_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.meme"
    path.write_text("MEME version 4\n\n" + text.replace("MOTIF", "MOTIF", 1))
    # the motif text starts on line 3 of the file
    shifted = message
    for n in (2, 3):
        shifted = shifted.replace(f"line {n}:", f"line {n + 2}:")
    with pytest.raises(MotifFormatError, match=shifted.replace("(", r"\(")):
        read(path)


def test_rows_not_summing_to_one_are_normalised_with_a_warning(tmp_path, caplog):
    path = tmp_path / "m.meme"
    path.write_text("MEME version 4\n\nMOTIF x\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5 0.5\n")
    with caplog.at_level(logging.WARNING):
        (motif,) = read(path)
    np.testing.assert_allclose(motif.probabilities, [[0.25] * 4])
    assert "normalised" in caplog.text


def test_unknown_database_release():
    with pytest.raises(ValueError, match="JASPAR1999 is not shipped by pyjaspar"):
        read("jaspar1999:plants")


def test_fimo_tsv_and_bed_exports(tmp_path):
    sequence = "TTTTACGTTTTCGTATTTT"
    motif = Motif("acg", "alt", np.array([[0.97, 0.01, 0.01, 0.01], [0.01, 0.97, 0.01, 0.01], [0.01, 0.01, 0.97, 0.01]]))
    hits = scan_sequences({"s1": sequence}, [motif], pvalue=0.02)
    tsv = to_fimo_tsv(hits, tmp_path / "h.tsv", sequences=[sequence])
    lines = tsv.read_text().splitlines()
    assert lines[0].split("\t") == ["motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value", "q-value", "matched_sequence"]
    rows = [line.split("\t") for line in lines[1:]]
    plus = [r for r in rows if r[5] == "+" and r[9] == "ACG"]
    assert plus and plus[0][3:5] == ["5", "7"]  # ACG at 0-based 4..7 -> 1-based 5..7
    minus = [r[3:5] for r in rows if r[5] == "-" and r[9] == "ACG"]  # CGT on + is ACG on -
    assert minus == [["6", "8"], ["12", "14"]]
    for r in rows:  # matched sequence is the window (reverse-complemented on '-')
        window = sequence[int(r[3]) - 1 : int(r[4])]
        expected = window if r[5] == "+" else decode(reverse_complement(np.array(["ACGT".index(c) for c in window], dtype=np.uint8)))
        assert r[9] == expected
    bed = to_bed(hits, tmp_path / "h.bed").read_text().splitlines()
    assert bed[0].split("\t")[:3] == ["s1", str(hits.hit_start.values[0]), str(hits.hit_end.values[0])]
    assert len(bed) == hits.sizes["hits"]


def test_cli_scan_and_list(tmp_path, demo_store):
    runner = CliRunner()
    listed = runner.invoke(main, ["motifs", "list", "jaspar2024:plants"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 806
    meme = write_meme(read("jaspar2024:plants")[:10], tmp_path / "m.meme")
    result = runner.invoke(
        main,
        ["motifs", "scan", str(demo_store), "--motifs", str(meme), "--pvalue", "1e-5", "--contig", "NC_003070.9",
         "--chunk-size", "250000", "-o", str(tmp_path / "h.zarr"), "--tsv", str(tmp_path / "h.tsv"), "--bed", str(tmp_path / "h.bed")],
    )
    assert result.exit_code == 0, result.output
    n = int(result.output.split()[0].replace(",", ""))
    assert n > 0
    assert len((tmp_path / "h.tsv").read_text().splitlines()) == n + 1
    assert len((tmp_path / "h.bed").read_text().splitlines()) == n
    bad = runner.invoke(main, ["motifs", "scan", str(demo_store), "--motifs", str(tmp_path / "nope.meme"), "--tsv", "x.tsv"])
    assert bad.exit_code == 1 and "motif file not found" in bad.output


def test_motif_track_takes_the_best_covering_hit():
    from scanner.motifs import motif_track

    sequence = "TTTTACGTTTTCGTATTTT"
    motif = Motif("acg", "alt", np.array([[0.97, 0.01, 0.01, 0.01], [0.01, 0.97, 0.01, 0.01], [0.01, 0.01, 0.97, 0.01]]))
    hits = scan_sequences({"s1": sequence}, [motif], pvalue=0.02)
    track = motif_track(hits, "s1").values
    expected = np.zeros(len(sequence))
    for s, e, p in zip(hits.hit_start.values, hits.hit_end.values, hits.hit_pvalue.values):
        expected[s:e] = np.maximum(expected[s:e], -np.log10(p))
    np.testing.assert_allclose(track, expected.astype(np.float32))
    scores = motif_track(hits, "s1", value="score", start=3, end=10).values
    assert scores.shape == (7,) and np.isnan(scores[0]) and np.nanmax(scores) == pytest.approx(hits.hit_score.values.max(), rel=1e-6)


def test_bigwig_track_reads_back(tmp_path):
    import pyBigWig

    from scanner.motifs import motif_track, to_bigwig

    rng = np.random.default_rng(4)
    sequences = {"a": "".join(rng.choice(list("ACGT"), 3000)), "b": "".join(rng.choice(list("ACGT"), 500))}
    motif = Motif("m", "", rng.dirichlet(np.ones(4) * 0.3, size=6))
    hits = scan_sequences(sequences, [motif], pvalue=0.01)
    path = to_bigwig(hits, tmp_path / "t.bw")
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == {"a": 3000, "b": 500}
        for name, length in (("a", 3000), ("b", 500)):
            stored = np.nan_to_num(np.array(bw.values(name, 0, length)))
            np.testing.assert_allclose(stored, motif_track(hits, name).values, rtol=1e-6)
