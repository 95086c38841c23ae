"""Pieces shared by both ingest paths: contig arrays, the contig table, the attributes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alphabet import ALPHABET, FILL_CODE, SOFT_MASK_BIT
from .fasta import FastaFormatError
from .store_format import (
    ATTRS_KEY,
    FORMAT_NAME,
    FORMAT_VERSION,
    quiet_zarr_string_warnings,
    sequence_codec,
    sequence_key,
)


@dataclass
class ContigStats:
    """Length and base counts of one contig, gathered while it is written."""

    name: str
    header_line: int
    length: int = 0
    n_count: int = 0
    soft_masked_count: int = 0
    ambiguous_count: int = 0




def check_contig_name(name: str, path: Path, line: int) -> None:
    """Refuse names that cannot be a Zarr group name."""
    if "/" in name or name in {".", ".."} or name.startswith("__"):
        raise FastaFormatError(
            f"{path}, line {line}: contig name {name!r} cannot name a Zarr group "
            "(it contains '/', is '.' or '..', or starts with '__'); rename it in the FASTA"
        )


def create_sequence_array(root, contig: str, *, description: str, length: int, chunk_size: int):
    """The contig's code array, (positions,) uint8, filled with N until written."""
    return root.create_array(
        sequence_key(contig),
        shape=(length,),
        chunks=(chunk_size,),
        dtype="uint8",
        fill_value=FILL_CODE,
        compressors=[sequence_codec()],
        dimension_names=["positions"],
        attributes={"description": description},
    )


def finish_store(root, partial: Path, contigs: list[ContigStats], *, fasta_path: Path, sha256: str, chunk_size: int) -> None:
    """Write the contig table, then the attributes that mark the store complete."""
    import xarray as xr

    if not contigs:
        raise FastaFormatError(f"{fasta_path}: no sequence found (no record with bases)")
    columns = {
        "contig_length": [c.length for c in contigs],
        "contig_n_count": [c.n_count for c in contigs],
        "contig_soft_masked_count": [c.soft_masked_count for c in contigs],
        "contig_ambiguous_count": [c.ambiguous_count for c in contigs],
    }
    contig_table = xr.Dataset(
        {"contig_id": ("contigs", np.array([c.name for c in contigs]))}
        | {name: ("contigs", np.array(values, dtype=np.int64)) for name, values in columns.items()}
    )
    for name, comment in _TABLE_COMMENTS.items():
        contig_table[name].attrs["comment"] = comment
    with quiet_zarr_string_warnings():
        contig_table.to_zarr(partial, mode="a", zarr_format=3, consolidated=False)
    root.attrs[ATTRS_KEY] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "source": str(fasta_path.resolve()),
        "source_sha256": sha256,
        "chunk_size": chunk_size,
        "alphabet": ALPHABET + "N",
        "soft_mask_bit": SOFT_MASK_BIT,
        "coordinates": "0-based, half-open",
        "contig_lengths": {c.name: c.length for c in contigs},
        "complete": True,
    }


_TABLE_COMMENTS = {
    "contig_id": "Contig names, as the first word of each FASTA header.",
    "contig_length": "Number of bases in each contig.",
    "contig_n_count": "Bases stored as N (N in the FASTA plus IUPAC ambiguity codes).",
    "contig_soft_masked_count": "Bases in lowercase (soft-masked) in the FASTA.",
    "contig_ambiguous_count": "IUPAC ambiguity codes (R, Y, S, W, K, M, B, D, H, V) stored as N.",
}
