import logging

import numpy as np
import pytest
import xarray as xr
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import ingest_fasta, open_genome
from scanner.genome.alphabet import decode
from scanner.genome.fasta import FastaFormatError, FastaReader, RecordStart

from .conftest import write_fasta

IUPAC = "RYSWKMBDHV"


def expected_codes_text(seq: str) -> str:
    """What the store should hold for a FASTA sequence, as decoded text."""
    out = []
    for c in seq:
        base = "N" if c.upper() in IUPAC else ("T" if c.upper() == "U" else c.upper())
        out.append(base.lower() if c.islower() else base)
    return "".join(out)


records_strategy = st.lists(
    st.tuples(
        # names a Zarr group can take ('.', '..' and '__*' are refused, see below)
        st.from_regex(r"[A-Za-z0-9_.:|-]{1,12}", fullmatch=True).filter(
            lambda name: name not in (".", "..") and not name.startswith("__")
        ),
        st.text(alphabet="ACGTNacgtnRYkmU", min_size=1, max_size=300),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r[0],
)


def read_all(path, block_size):
    records, current = [], None
    for event in FastaReader(path, block_size=block_size).events():
        if isinstance(event, RecordStart):
            current = [event.name, []]
            records.append(current)
        else:
            current[1].append(decode(event.codes))
    return [(name, "".join(parts)) for name, parts in records]


@given(records_strategy, st.integers(1, 80), st.integers(2, 64), st.booleans(), st.booleans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_reader_matches_reference_for_any_block_size(tmp_path_factory, records, width, block_size, compress, crlf):
    path = tmp_path_factory.mktemp("fa") / "x.fa"
    write_fasta(path, records, width=width, compress=compress)
    if crlf and not compress:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert read_all(path, block_size) == [(n, expected_codes_text(s)) for n, s in records]


@pytest.mark.parametrize("chunk_size", [7, 64, 1000])
def test_store_round_trip_counts_and_plain_zarr_access(tmp_path, chunk_size):
    records = [("chr1", "ACGTacgtNNRYacgt" * 20), ("chr2", "GGGttt")]
    fasta = write_fasta(tmp_path / "g.fa.gz", records, width=13, compress=True)
    store = ingest_fasta(fasta, tmp_path / "g.zarr", chunk_size=chunk_size)
    genome = open_genome(store)
    assert genome.contig_names == ["chr1", "chr2"]
    for name, seq in records:
        assert decode(genome.fetch(name, 0, len(seq))) == expected_codes_text(seq)
        assert decode(genome.sequence(name).compute()) == expected_codes_text(seq)
    c = genome.contigs
    assert list(c.contig_length.values) == [320, 6]
    assert list(c.contig_n_count.values) == [80, 0]  # 2 N + 2 ambiguity codes per repeat
    assert list(c.contig_ambiguous_count.values) == [40, 0]
    assert list(c.contig_soft_masked_count.values) == [160, 3]
    # Plain zarr and xarray read it without this package.
    group = zarr.open_group(store, mode="r")
    assert group["contigs/chr1/sequence"].chunks == (chunk_size,)
    tree = xr.open_datatree(store, engine="zarr", consolidated=False)
    assert tree["contigs/chr2"]["sequence"].dims == ("positions",)
    np.testing.assert_array_equal(tree["contigs/chr2"]["sequence"].values, genome.fetch("chr2", 0, 6))
    assert group.attrs["cre_scanner"]["source_sha256"] == __import__("hashlib").sha256(fasta.read_bytes()).hexdigest()


def test_fetch_pads_off_contig_with_n(tmp_path):
    store = ingest_fasta(write_fasta(tmp_path / "g.fa", [("c", "ACGT")]), tmp_path / "g.zarr")
    assert decode(open_genome(store).fetch("c", -2, 6)) == "NNACGTNN"


def write_bgzf(path, data: bytes, block: int = 1000) -> None:
    """BGZF as bgzip writes it: gzip members with a 'BC' extra field, then an empty EOF member."""
    import struct
    import zlib

    members = []
    for start in range(0, len(data), block):
        chunk = data[start : start + block]
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        cdata = deflate.compress(chunk) + deflate.flush()
        size = 18 + len(cdata) + 8
        header = struct.pack("<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, size - 1)
        members.append(header + cdata + struct.pack("<II", zlib.crc32(chunk), len(chunk)))
    eof = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    path.write_bytes(b"".join(members) + eof)


def test_bgzip_input(tmp_path):
    seq = "ACGTacgtNN" * 2000
    fasta = write_fasta(tmp_path / "g.fa", [("c", seq), ("d", "GATTACA")])
    write_bgzf(tmp_path / "g.fa.gz", fasta.read_bytes())
    store = ingest_fasta(tmp_path / "g.fa.gz", tmp_path / "g.zarr", chunk_size=1000)
    genome = open_genome(store)
    assert decode(genome.fetch("c", 0, len(seq))) == seq
    assert decode(genome.fetch("d", 0, 7)) == "GATTACA"


def test_invalid_character_names_file_contig_and_line(tmp_path):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">ok\nACGT\n>chrX desc\nACGT\nAC-T\n")
    with pytest.raises(FastaFormatError, match=r"bad\.fa, line 5, column 3: '-' in record 'chrX'"):
        ingest_fasta(fasta, tmp_path / "bad.zarr")
    assert not (tmp_path / "bad.zarr").exists()
    assert list(tmp_path.iterdir()) == [fasta]  # no partial store left behind


def test_sequence_before_any_header_is_an_error(tmp_path):
    fasta = tmp_path / "bad.fa"
    fasta.write_text("\nACGT\n>c\nAC\n")
    with pytest.raises(FastaFormatError, match="line 2: expected a header line"):
        ingest_fasta(fasta, tmp_path / "bad.zarr")


def test_duplicate_contig_names_are_an_error(tmp_path):
    fasta = write_fasta(tmp_path / "dup.fa", [("c1", "ACGT"), ("c2", "A"), ("c1", "GG")])
    with pytest.raises(FastaFormatError, match=r"line 5: duplicate contig name 'c1' \(first seen on line 1\)"):
        ingest_fasta(fasta, tmp_path / "dup.zarr")
    assert not (tmp_path / "dup.zarr").exists()


def test_empty_contigs_are_skipped_with_a_warning(tmp_path, caplog):
    fasta = tmp_path / "e.fa"
    fasta.write_text(">empty\n>c\nACGT\n>also_empty\n\n")
    with caplog.at_level(logging.WARNING):
        store = ingest_fasta(fasta, tmp_path / "e.zarr")
    assert open_genome(store).contig_names == ["c"]
    assert "'empty' has no bases" in caplog.text and "'also_empty' has no bases" in caplog.text
    assert "empty" not in zarr.open_group(store / "contigs", mode="r")


def test_no_sequence_at_all_is_an_error(tmp_path):
    fasta = tmp_path / "e.fa"
    fasta.write_text(">empty\n")
    with pytest.raises(FastaFormatError, match="no sequence found"):
        ingest_fasta(fasta, tmp_path / "e.zarr")


def test_truncated_gzip_is_an_error_and_leaves_no_store(tmp_path):
    fasta = write_fasta(tmp_path / "t.fa.gz", [("c", "ACGT" * 50_000)], compress=True)
    data = fasta.read_bytes()
    fasta.write_bytes(data[: len(data) // 2])
    with pytest.raises(FastaFormatError, match="truncated or corrupt"):
        ingest_fasta(fasta, tmp_path / "t.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.fa.gz"]


def test_failed_reingest_keeps_the_existing_store(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", [("c", "ACGT")])
    store = ingest_fasta(fasta, tmp_path / "g.zarr")
    fasta.write_text(">c\nAC*T\n")
    with pytest.raises(FastaFormatError):
        ingest_fasta(fasta, store)
    assert decode(open_genome(store).fetch("c", 0, 4)) == "ACGT"


def test_reingest_of_unchanged_fasta_is_a_no_op(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", [("c", "ACGT")])
    store = ingest_fasta(fasta, tmp_path / "g.zarr")
    stamp = (store / "zarr.json").stat().st_mtime_ns
    ingest_fasta(fasta, store)
    assert (store / "zarr.json").stat().st_mtime_ns == stamp
    fasta.write_text(">c\nACGTT\n")  # changed source: rebuilt
    ingest_fasta(fasta, store)
    assert open_genome(store).contig_length("c") == 5


def test_incomplete_store_is_refused(tmp_path):
    store = ingest_fasta(write_fasta(tmp_path / "g.fa", [("c", "ACGT")]), tmp_path / "g.zarr")
    group = zarr.open_group(store, mode="r+")
    attrs = dict(group.attrs["cre_scanner"])
    attrs["complete"] = False
    group.attrs["cre_scanner"] = attrs
    with pytest.raises(ValueError, match="incomplete"):
        open_genome(store)


def test_contig_name_that_cannot_be_a_zarr_key(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", [("a/b", "ACGT")])
    with pytest.raises(FastaFormatError, match="line 1: contig name 'a/b'"):
        ingest_fasta(fasta, tmp_path / "g.zarr")


def test_genome_pickles_as_its_path(demo_genome):
    import pickle

    clone = pickle.loads(pickle.dumps(demo_genome))
    assert clone.path == demo_genome.path and clone.contig_names == demo_genome.contig_names
    assert len(pickle.dumps(demo_genome)) < 1000


@pytest.mark.parametrize("name", [".", "..", "__x"])
def test_names_zarr_cannot_take_are_refused(tmp_path, name):
    fasta = write_fasta(tmp_path / "g.fa", [(name, "ACGT")])
    with pytest.raises(FastaFormatError, match="cannot name a Zarr group"):
        ingest_fasta(fasta, tmp_path / "g.zarr")
