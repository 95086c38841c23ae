import numpy as np
import pytest

from scanner import gene_windows, ingest_fasta, locate_position, open_genome, window_positions, window_sequences
from scanner.genome.alphabet import decode
from scanner.genome.encoding import reverse_complement

from .conftest import DATA, write_fasta


def samtools_halves():
    records, name = {}, None
    for line in (DATA / "deepcre_windows_samtools.fa").read_text().splitlines():
        if line.startswith("#"):
            continue
        if line.startswith(">"):
            name = line[1:]
            records[name] = []
        else:
            records[name].append(line)
    return {k: "".join(v) for k, v in records.items()}


def deepcre_expected(first_half, second_half):
    """The DeepCRE window: halves, 20 N, and 3 bases masked at each anchor."""
    window = list(first_half + "N" * 20 + second_half)
    for i in list(range(1000, 1003)) + list(range(2017, 2020)):
        window[i] = "N"
    return "".join(window)


@pytest.fixture(scope="module")
def demo_windows(demo_genome, demo_gff):
    return gene_windows(demo_genome, demo_gff, layout="deepcre", chunk_size=50)


def test_deepcre_windows_match_samtools(demo_genome, demo_windows):
    halves = samtools_halves()
    seqs = window_sequences(demo_genome, demo_windows)
    ids = list(demo_windows.window_gene_id.values)
    plus, minus = ids.index("AT1G01010"), ids.index("AT1G01020")
    assert demo_windows.window_strand.values[plus] == "+" and demo_windows.window_strand.values[minus] == "-"
    assert decode(seqs[plus].values) == deepcre_expected(
        halves["NC_003070.9:2631-4130"], halves["NC_003070.9:5400-6899"]
    )
    assert decode(seqs[minus].values) == deepcre_expected(
        halves["NC_003070.9:8631-10130/rc"], halves["NC_003070.9:5788-7287/rc"]
    )
    # unmasked, the anchors hold the gene's first and last bases
    raw = window_sequences(demo_genome, demo_windows, apply_mask=False)[plus].values
    assert decode(raw[1000:1003]) == halves["NC_003070.9:2631-4130"][1000:1003]


def test_window_positions_agree_with_sequences(demo_genome, demo_windows):
    seqs = window_sequences(demo_genome, demo_windows, apply_mask=False).values
    positions = window_positions(demo_windows).values
    contig = demo_genome.sequence("NC_003070.9").compute()
    for w in range(0, demo_windows.sizes["windows"], 37):
        slots = positions[w] >= 0
        genome_codes = contig[positions[w][slots]]
        if demo_windows.window_strand.values[w] == "-":
            genome_codes = reverse_complement(genome_codes[::-1])  # complement, slot order kept
        np.testing.assert_array_equal(seqs[w][slots], genome_codes)
        assert np.all(seqs[w][~slots] == 4)
    # the spacer maps nowhere; the TSS slot maps to the gene start (+) or end - 1 (-)
    assert np.all(positions[:, 1500:1520] == -1)
    starts, ends = demo_windows.window_gene_start.values, demo_windows.window_gene_end.values
    tss = np.where(demo_windows.window_strand.values == "+", starts, ends - 1)
    np.testing.assert_array_equal(positions[:, 1000], tss)


def test_locate_position_gives_zero_one_or_two_slots(demo_genome, demo_gff, demo_windows):
    ids = list(demo_windows.window_gene_id.values)
    plus = ids.index("AT1G01010")
    hits = locate_position(demo_windows, "NC_003070.9", 3630)  # first base of AT1G01010
    assert [plus, 1000] in hits.tolist()
    assert locate_position(demo_windows, "NC_003070.9", 5_000_000).shape == (0, 2)
    overlap = gene_windows(demo_genome, demo_gff, short_genes="overlap")
    short = np.flatnonzero(overlap.window_gene_end.values - overlap.window_gene_start.values < 1000)[0]
    middle = int(overlap.window_gene_start.values[short] + overlap.window_gene_end.values[short]) // 2
    slots = locate_position(overlap, "NC_003070.9", middle)
    assert (slots[:, 0] == short).sum() == 2


def test_short_gene_rules(demo_genome, demo_gff, demo_windows):
    dropped = gene_windows(demo_genome, demo_gff, short_genes="drop")
    n_short = demo_windows.attrs["genes_short"]
    assert n_short > 0
    assert dropped.sizes["windows"] == demo_windows.sizes["windows"] - n_short
    assert dropped.attrs["windows_dropped_short"] == n_short
    lengths = demo_windows.window_gene_end.values - demo_windows.window_gene_start.values
    w = int(np.flatnonzero(lengths < 1000)[0])
    inside = int(lengths[w]) // 2
    positions = window_positions(demo_windows).values[w]
    # padded: 1000 + inside bases, a wider N spacer, then inside + 1000 bases; same length
    assert np.all(positions[: 1000 + inside] >= 0)
    assert np.all(positions[1000 + inside : 3020 - 1000 - inside] == -1)
    assert np.all(positions[3020 - 1000 - inside :] >= 0)
    assert bool(demo_windows.window_padded.values[w])


def test_contig_edge_rule(tmp_path):
    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), size=6000))
    store = ingest_fasta(write_fasta(tmp_path / "g.fa", [("Chr1", seq)]), tmp_path / "g.zarr")
    genome = open_genome(store)
    gff = tmp_path / "g.gff3"
    gff.write_text(
        "##gff-version 3\n"
        "chr1\tt\tgene\t501\t3000\t.\t+\t.\tID=gene:EDGE;biotype=protein_coding\n"
        "chr1\tt\tgene\t2001\t4000\t.\t-\t.\tID=gene:MID;biotype=protein_coding\n"
    )
    dropped = gene_windows(genome, gff)  # "chr1" reaches "Chr1" through the alias rule
    assert list(dropped.window_gene_id.values) == ["MID"]
    assert dropped.attrs["windows_dropped_contig_edge"] == 1
    padded = gene_windows(genome, gff, contig_edges="pad")
    assert list(padded.window_gene_id.values) == ["EDGE", "MID"]
    edge = decode(window_sequences(genome, padded)[0].values)
    assert edge[:500] == "N" * 500 and edge[500:1000] == seq[:500]


def test_promoter_layout(demo_genome, demo_gff):
    wins = gene_windows(demo_genome, demo_gff, layout="promoter", upstream=200, downstream=50)
    assert wins.attrs["window_length"] == 250 and wins.sizes["segments"] == 1
    positions = window_positions(wins).values
    tss = np.where(wins.window_strand.values == "+", wins.window_gene_start.values, wins.window_gene_end.values - 1)
    np.testing.assert_array_equal(positions[:, 200], tss)
    assert not wins.position_masked.values.any()


def test_bad_layout_arguments(demo_genome, demo_gff):
    with pytest.raises(ValueError, match="unknown layout 'x'"):
        gene_windows(demo_genome, demo_gff, layout="x")
    with pytest.raises(ValueError, match="short_genes"):
        gene_windows(demo_genome, demo_gff, short_genes="keep")
