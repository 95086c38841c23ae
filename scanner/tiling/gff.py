"""Reading genes from GFF3 (plain or gzip).

Only what windows need is kept: features of one type (``gene`` by default),
optionally filtered by biotype, with 0-based half-open coordinates. Every line
is checked: a malformed record raises :class:`GffFormatError` with file and line.
"""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pandas as pd

log = logging.getLogger(__name__)

#: Attributes that carry a gene's biotype, in the order they are looked up
#: (NCBI RefSeq, Ensembl / Ensembl Plants, TAIR and Phytozome).
BIOTYPE_ATTRIBUTES = ("gene_biotype", "biotype", "locus_type")
#: Prefixes that NCBI ("gene-") and Ensembl ("gene:") put before gene IDs.
ID_PREFIXES = ("gene-", "gene:")


class GffFormatError(ValueError):
    """The GFF3 file is malformed; the message says where."""


@dataclass
class GffGenes:
    """Genes read from a GFF3 file.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``contig``, ``start``, ``end`` (0-based, half-open), ``strand``,
        ``gene_id``, ``name``, ``biotype``, ``line`` (1-based line in the file).
    region_aliases : dict of str to str
        From ``region`` records: sequence ID -> ``chromosome`` attribute (for
        example NC_003070.9 -> 1), used by the contig alias rule.
    counts : dict of str to int
        Features seen of the selected type and why any were left out.
    """

    table: pd.DataFrame
    region_aliases: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _attributes(text: str) -> dict[str, str]:
    attrs = {}
    for item in text.strip().split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if sep:
            attrs[key.strip()] = unquote(value.strip())
    return attrs


def read_gff3(
    path: str | os.PathLike,
    *,
    feature_type: str = "gene",
    biotype: str | None = "protein_coding",
    id_attribute: str = "ID",
) -> GffGenes:
    """Read the genes of a GFF3 file.

    Parameters
    ----------
    path : path-like
        GFF3, plain or gzip-compressed.
    feature_type : str
        Column 3 value of the features to keep.
    biotype : str or None
        Keep features whose biotype attribute (``gene_biotype``, ``biotype`` or
        ``locus_type``) equals this. None keeps all. If no feature of the type carries
        any biotype attribute, all are kept and a warning says so.
    id_attribute : str
        Attribute that names the gene; ``gene-`` / ``gene:`` prefixes are removed.

    Returns
    -------
    GffGenes

    Raises
    ------
    GffFormatError
        A line without 9 tab-separated columns, non-integer or reversed coordinates,
        or a feature without the ID attribute; the message gives file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GFF3 file not found: {path}")
    rows = []
    region_aliases: dict[str, str] = {}
    counts = {"features": 0, "no_strand": 0, "other_biotype": 0, "no_biotype": 0}
    any_biotype = False
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("##FASTA"):
                break
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise GffFormatError(
                    f"{path}, line {line_no}: expected 9 tab-separated columns, found {len(fields)}"
                )
            ftype = fields[2]
            if ftype == "region":
                attrs = _attributes(fields[8])
                if "chromosome" in attrs:
                    region_aliases[fields[0]] = attrs["chromosome"]
                continue
            if ftype != feature_type:
                continue
            try:
                start, end = int(fields[3]), int(fields[4])
            except ValueError:
                raise GffFormatError(
                    f"{path}, line {line_no}: start and end must be integers, got {fields[3]!r}, {fields[4]!r}"
                ) from None
            if start < 1 or end < start:
                raise GffFormatError(
                    f"{path}, line {line_no}: need 1 <= start <= end (1-based, inclusive), got {start}..{end}"
                )
            counts["features"] += 1
            attrs = _attributes(fields[8])
            if id_attribute not in attrs:
                raise GffFormatError(f"{path}, line {line_no}: {feature_type} has no {id_attribute}= attribute")
            gene_biotype = next((attrs[a] for a in BIOTYPE_ATTRIBUTES if a in attrs), None)
            any_biotype |= gene_biotype is not None
            gene_id = attrs[id_attribute]
            for prefix in ID_PREFIXES:
                gene_id = gene_id.removeprefix(prefix)
            rows.append(
                (fields[0], start - 1, end, fields[6], gene_id, attrs.get("Name", gene_id), gene_biotype, line_no)
            )
    table = pd.DataFrame(rows, columns=["contig", "start", "end", "strand", "gene_id", "name", "biotype", "line"])
    table = table.astype({"start": "int64", "end": "int64", "line": "int64"})
    if biotype is not None:
        if any_biotype:
            counts["no_biotype"] = int(table.biotype.isna().sum())
            counts["other_biotype"] = int((table.biotype.notna() & (table.biotype != biotype)).sum())
            table = table[table.biotype == biotype]
        else:
            log.warning(
                "%s: no %s feature has a biotype attribute (%s); keeping all of them",
                path,
                feature_type,
                ", ".join(BIOTYPE_ATTRIBUTES),
            )
    oriented = table.strand.isin(["+", "-"])
    counts["no_strand"] = int((~oriented).sum())
    table = table[oriented].reset_index(drop=True)
    counts["kept"] = len(table)
    return GffGenes(table=table, region_aliases=region_aliases, counts=counts)
