"""Mapping contig names between annotation files and the genome store.

The alias rule, tried in order for each annotation contig name:

1. the same name is in the genome;
2. an alias file lists it on a line together with a genome contig (any number of
   whitespace- or tab-separated names per line, all naming the same contig);
3. a GFF3 ``region`` record gives it a ``chromosome=`` attribute (NCBI files:
   NC_003070.9 -> 1), and that chromosome, normalised, matches one genome contig;
4. the normalised name matches exactly one genome contig. Normalising lowercases,
   drops a leading ``chromosome``, ``chrom`` or ``chr`` (and a following ``_`` or
   ``-``), and drops leading zeros: Chr1, chr01, CHR_1 and 1 are all ``1``.

Names that match nothing (or match two genome contigs) are left unmapped and
reported by the caller.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_PREFIX = re.compile(r"^(chromosome|chrom|chr)[_\-]?", re.IGNORECASE)


def normalise_contig_name(name: str) -> str:
    """Lowercase, without a chr/chrom/chromosome prefix and leading zeros."""
    stripped = _PREFIX.sub("", name.strip()).lower()
    return stripped.lstrip("0") or stripped


def read_alias_file(path: str | os.PathLike) -> list[list[str]]:
    """Groups of names for the same contig, one group per non-comment line."""
    groups = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                groups.append(line.split())
    return groups


def map_contigs(
    names,
    genome_contigs,
    *,
    alias_file: str | os.PathLike | None = None,
    region_aliases: dict[str, str] | None = None,
) -> dict[str, str]:
    """Map annotation contig names to genome contig names by the alias rule.

    Parameters
    ----------
    names : iterable of str
        Contig names used in the annotation.
    genome_contigs : iterable of str
        Contig names in the genome store.
    alias_file : path-like, optional
    region_aliases : dict, optional
        Sequence ID -> chromosome, from GFF3 ``region`` records.

    Returns
    -------
    dict of str to str
        Only the names that could be mapped.
    """
    genome_contigs = list(genome_contigs)
    in_genome = set(genome_contigs)
    by_normal: dict[str, list[str]] = {}
    for contig in genome_contigs:
        by_normal.setdefault(normalise_contig_name(contig), []).append(contig)
    file_map = {}
    if alias_file is not None:
        for group in read_alias_file(Path(alias_file)):
            targets = [n for n in group if n in in_genome]
            if len(targets) == 1:
                file_map.update({n: targets[0] for n in group})

    def by_normalised(name):
        found = by_normal.get(normalise_contig_name(name), [])
        return found[0] if len(found) == 1 else None

    mapping = {}
    for name in set(names):
        if name in in_genome:
            mapping[name] = name
        elif name in file_map:
            mapping[name] = file_map[name]
        elif region_aliases and name in region_aliases and by_normalised(region_aliases[name]):
            mapping[name] = by_normalised(region_aliases[name])
        elif by_normalised(name):
            mapping[name] = by_normalised(name)
    return mapping
