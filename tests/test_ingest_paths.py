"""The indexed (parallel) and streaming ingest paths give identical stores."""

import logging

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import ingest_fasta, open_genome
from scanner.genome.fasta import FastaFormatError

from .conftest import write_fasta
from .test_ingest import expected_codes_text, records_strategy

FALLBACK = "streaming pass instead"


def store_contents(store):
    genome = open_genome(store)
    group = zarr.open_group(store, mode="r")
    descriptions = {n: group[f"contigs/{n}/sequence"].attrs["description"] for n in genome.contig_names}
    table = {k: genome.contigs[k].values.tolist() for k in genome.contigs.data_vars}
    sequences = {n: genome.sequence(n).compute() for n in genome.contig_names}
    return table, sequences, descriptions


@given(
    records_strategy,
    st.integers(1, 70),
    st.integers(1, 200),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_indexed_equals_streaming_and_reference(tmp_path_factory, caplog, records, width, chunk_size, newline, blank):
    tmp = tmp_path_factory.mktemp("paths")
    text = ""
    for name, seq in records:
        text += f">{name} some description\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
        text += "\n" if blank else ""
    fasta = tmp / "g.fa"
    fasta.write_bytes(text.replace("\n", newline).encode())
    caplog.clear()
    with caplog.at_level(logging.INFO):
        indexed = ingest_fasta(fasta, tmp / "i.zarr", chunk_size=chunk_size, method="indexed")
    if not (blank and newline == "\r\n"):  # pyfaidx refuses blank CRLF lines: streaming then
        assert FALLBACK not in caplog.text  # regular lines: the indexed reader did the work
    streamed = ingest_fasta(fasta, tmp / "s.zarr", chunk_size=chunk_size, method="stream")
    table, sequences, descriptions = store_contents(indexed)
    assert (table, descriptions) == store_contents(streamed)[::2]
    for name, seq in records:
        from scanner.genome.alphabet import decode

        assert decode(sequences[name]) == expected_codes_text(seq)
        assert descriptions[name] == "some description"
    assert not list(tmp.glob(".*"))  # no index or partial store left behind


def test_irregular_lines_fall_back_to_streaming(tmp_path, caplog):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\nAC\nACGTA\n>b\nGG\n")
    with caplog.at_level(logging.INFO):
        genome = open_genome(ingest_fasta(fasta, tmp_path / "g.zarr", chunk_size=3, method="indexed"))
    assert FALLBACK in caplog.text
    assert genome.contig_length("a") == 11
    np.testing.assert_array_equal(genome.fetch("b", 0, 2), [2, 2])


def test_longer_last_line_and_spaces_fall_back(tmp_path, caplog):
    for i, body in enumerate(["ACGT\nACGTA\n", "AC T\nACGT\n"]):
        fasta = tmp_path / f"g{i}.fa"
        fasta.write_text(">a\n" + body)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            genome = open_genome(ingest_fasta(fasta, tmp_path / f"g{i}.zarr", method="indexed"))
        assert FALLBACK in caplog.text
        assert genome.contig_length("a") == len(body.replace("\n", "").replace(" ", ""))


@pytest.mark.parametrize("compress", [False, True])
def test_both_paths_report_invalid_bases_the_same_way(tmp_path, compress):
    fasta = write_fasta(tmp_path / ("g.fa.gz" if compress else "g.fa"), [("a", "ACGT" * 10), ("b", "ACGT" * 5 + "ACXT")], width=8, compress=compress)
    with pytest.raises(FastaFormatError, match=r"line 10, column 7: 'X' in record 'b'"):
        ingest_fasta(fasta, tmp_path / "g.zarr", chunk_size=5, method="indexed")
    assert not (tmp_path / "g.zarr").exists()


def test_indexed_ingest_on_a_dask_cluster(tmp_path):
    from distributed import Client, LocalCluster

    records = [("c1", "ACGTNacgtn" * 300), ("c2", "RYACGT" * 7)]
    fasta = write_fasta(tmp_path / "g.fa", records, width=50)
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        on_cluster = ingest_fasta(fasta, tmp_path / "d.zarr", chunk_size=128, client=client, method="indexed")
    streamed = ingest_fasta(fasta, tmp_path / "s.zarr", chunk_size=128, method="stream")
    a, b = store_contents(on_cluster), store_contents(streamed)
    assert a[0] == b[0] and a[2] == b[2]
    for name in a[1]:
        np.testing.assert_array_equal(a[1][name], b[1][name])


def test_auto_uses_an_existing_fai_with_a_cluster_and_never_writes_beside_the_fasta(tmp_path, caplog):
    from distributed import Client, LocalCluster

    import pyfaidx

    records = [("c1", "ACGT" * 100), ("c2", "GGCC" * 30)]
    fasta = write_fasta(tmp_path / "g.fa", records, width=60)
    with caplog.at_level(logging.DEBUG, logger="scanner.genome.ingest_indexed"):
        ingest_fasta(fasta, tmp_path / "a.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr", "g.fa"]  # no index was written
    pyfaidx.Faidx(str(fasta)).close()  # as a user would, with samtools or pyfaidx
    with caplog.at_level(logging.INFO, logger="scanner.genome"):
        ingest_fasta(fasta, tmp_path / "no-cluster.zarr", chunk_size=100)
        assert "by its index" not in caplog.text  # on one machine the streaming reader is used
        with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
            genome = open_genome(ingest_fasta(fasta, tmp_path / "b.zarr", chunk_size=100, client=client))
    assert "by its index: 6 chunk tasks on the cluster" in caplog.text  # 4 chunks of c1, 2 of c2
    assert genome.contig_length("c1") == 400 and genome.contig_length("c2") == 120
