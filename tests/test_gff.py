import gzip
import logging

import pytest

from scanner.tiling.aliases import map_contigs, normalise_contig_name
from scanner.tiling.gff import GffFormatError, read_gff3


def test_demo_gff_protein_coding_genes(demo_gff):
    genes = read_gff3(demo_gff)
    assert genes.counts["features"] == 728 and genes.counts["kept"] == 592
    first = genes.table.iloc[0]
    assert (first.contig, first.start, first.end, first.strand, first.gene_id) == ("NC_003070.9", 3630, 5899, "+", "AT1G01010")
    assert genes.region_aliases == {"NC_003070.9": "1"}
    assert len(read_gff3(demo_gff, biotype=None).table) == 728


@pytest.mark.parametrize(
    "line,message",
    [
        ("c\tt\tgene\t1\t10\t.\t+\t.", "line 2: expected 9 tab-separated columns, found 8"),
        ("c\tt\tgene\tx\t10\t.\t+\t.\tID=a", "line 2: start and end must be integers"),
        ("c\tt\tgene\t20\t10\t.\t+\t.\tID=a", "line 2: need 1 <= start <= end"),
        ("c\tt\tgene\t1\t10\t.\t+\t.\tName=a", "line 2: gene has no ID= attribute"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.gff3"
    path.write_text("##gff-version 3\n" + line + "\n")
    with pytest.raises(GffFormatError, match=f"bad.gff3, {message}"):
        read_gff3(path)


def test_gzip_fasta_section_and_missing_biotype(tmp_path, caplog):
    path = tmp_path / "g.gff3.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("c\tt\tgene\t1\t10\t.\t+\t.\tID=a\nc\tt\tgene\t5\t9\t.\t.\t.\tID=b\n##FASTA\n>c\nACGT\n")
    with caplog.at_level(logging.WARNING):
        genes = read_gff3(path)
    assert list(genes.table.gene_id) == ["a"] and genes.counts["no_strand"] == 1
    assert "no gene feature has a biotype attribute" in caplog.text


@pytest.mark.parametrize("name", ["Chr1", "chr01", "CHR_1", "1", "chromosome1", "Chromosome-1"])
def test_normalised_names(name):
    assert normalise_contig_name(name) == "1"


def test_alias_rule(tmp_path):
    genome = ["Chr1", "Chr2", "ChrC", "scaffold_9"]
    aliases = tmp_path / "aliases.txt"
    aliases.write_text("# names of one contig per line\nNC_000932.1 ChrC\n")
    mapping = map_contigs(
        ["Chr1", "chr2", "NC_003070.9", "NC_000932.1", "unknown"],
        genome,
        alias_file=aliases,
        region_aliases={"NC_003070.9": "1"},
    )
    assert mapping == {"Chr1": "Chr1", "chr2": "Chr2", "NC_003070.9": "Chr1", "NC_000932.1": "ChrC"}
    # two genome contigs normalising alike: ambiguous, not mapped
    assert map_contigs(["1"], ["chr1", "Chr01"]) == {}
