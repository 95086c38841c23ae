from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import settings

from pipelines.demo import DEMO_FASTA, DEMO_GFF

DATA = Path(__file__).parent / "data"

# Kernels compile on their first call, which no deadline should count.
settings.register_profile("default", deadline=None)
settings.load_profile("default")


def write_fasta(path: Path, records: list[tuple[str, str]], *, width: int = 60, compress: bool = False) -> Path:
    """Write ``(name, sequence)`` records as FASTA, wrapped at ``width``."""
    lines = []
    for name, seq in records:
        lines.append(f">{name}")
        lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
    text = "\n".join(lines) + "\n"
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    from scanner import ingest_fasta

    return ingest_fasta(DEMO_FASTA, tmp_path_factory.mktemp("demo") / "genome.zarr")


@pytest.fixture(scope="session")
def demo_genome(demo_store):
    from scanner import open_genome

    return open_genome(demo_store)


@pytest.fixture(scope="session")
def demo_gff():
    return DEMO_GFF


@pytest.fixture(scope="session")
def demo_fasta():
    return DEMO_FASTA
