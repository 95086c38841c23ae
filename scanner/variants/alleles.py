"""Every ALT allele of a variant set, checked against the genome.

One row per (variant, ALT). Each gets a status; only ``ok`` rows are scored, and
every other status is counted in the report (never a silent skip):

- ``ok``: REF equals the genome (case-insensitive; N matches only N) and the ALT
  is made of A, C, G, T, N;
- ``ref_mismatch``: REF disagrees with the genome, or runs past the contig end;
- ``symbolic``: ``<DEL>``-style, breakend (``]``/``[``), ``*`` (overlapping
  deletion) or missing (``.``) ALT;
- ``missing_contig``: the variant's contig is not in the genome (after the alias
  rule);
- ``same_as_ref``: ALT equal to REF (nothing to score).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..genome.alphabet import BYTE_TO_CODE, BASE_BITS
from ..tiling.aliases import map_contigs

log = logging.getLogger(__name__)

STATUSES = ("ok", "ref_mismatch", "symbolic", "missing_contig", "same_as_ref")


class VariantCheckError(ValueError):
    """A variant that disagrees with the genome, raised in strict mode."""


@dataclass
class AlleleTable:
    """The ALT alleles of a variant set, one row per (variant, ALT).

    Attributes
    ----------
    variant : ndarray of int64 (rows,)
        Row of the variant in the variants dataset.
    alt : ndarray of int64 (rows,)
        Allele index of the ALT (1 = first ALT), as in ``call_genotype``.
    contig : ndarray of int64 (rows,)
        Genome contig index (-1 where missing).
    start : ndarray of int64 (rows,)
        0-based position of the first REF base.
    ref_length : ndarray of int64 (rows,)
    alt_codes : list of ndarray of uint8
        The ALT bases as genome codes.
    status : ndarray of str (rows,)
        One of :data:`STATUSES`.
    counts : dict
        Rows per status, plus ``variants`` and ``multiallelic_sites``.
    """

    variant: np.ndarray
    alt: np.ndarray
    contig: np.ndarray
    start: np.ndarray
    ref_length: np.ndarray
    alt_codes: list
    status: np.ndarray
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        return self.status == "ok"

    @property
    def alt_length(self) -> np.ndarray:
        return np.array([a.size for a in self.alt_codes], dtype=np.int64)


def _codes(text: str) -> np.ndarray:
    return BYTE_TO_CODE[np.frombuffer(text.upper().encode(), dtype=np.uint8)] & BASE_BITS


def _symbolic(alt: str) -> bool:
    return alt in ("", ".", "*") or alt.startswith("<") or "[" in alt or "]" in alt or not set(alt.upper()) <= set("ACGTN")


def allele_table(variants: xr.Dataset, genome, *, alias_file=None, strict: bool = False) -> AlleleTable:
    """Check every ALT allele against the genome.

    Parameters
    ----------
    variants : xarray.Dataset
        From :func:`scanner.variants.read_variants`.
    genome : Genome
    alias_file : path-like, optional
        Contig aliases (see :mod:`scanner.tiling.aliases`).
    strict : bool
        Raise :class:`VariantCheckError` at the first REF that disagrees with the
        genome instead of counting and skipping it.

    Returns
    -------
    AlleleTable
    """
    source = variants.attrs.get("source", "variants")
    vcf_contigs = [str(c) for c in variants.contig_id.values]
    mapping = map_contigs(vcf_contigs, genome.contig_names, alias_file=alias_file)
    to_genome = np.array([genome.contig_index(mapping[c]) if c in mapping else -1 for c in vcf_contigs] or [-1], dtype=np.int64)
    allele = variants.variant_allele.values
    contig_of = to_genome[variants.variant_contig.values]
    start_of = variants.variant_position.values.astype(np.int64) - 1
    rows = {k: [] for k in ("variant", "alt", "contig", "start", "ref_length", "alt_codes", "status")}
    reference = {}
    for i in range(allele.shape[0]):
        ref = str(allele[i, 0])
        c = int(contig_of[i])
        ref_codes = _codes(ref)
        status_ref = "ok"
        if c < 0:
            status_ref = "missing_contig"
        else:
            if c not in reference:
                name = genome.contig_names[c]
                reference[c] = genome.fetch(name, 0, genome.contig_length(name)) & BASE_BITS
            seq = reference[c]
            s = int(start_of[i])
            found = seq[s : s + ref_codes.size]
            if s < 0 or found.size != ref_codes.size or not np.array_equal(found, ref_codes):
                status_ref = "ref_mismatch"
                if strict:
                    shown = "".join("ACGTN"[b] for b in found) if found.size else "(off the contig)"
                    raise VariantCheckError(
                        f"{source}: variant {i + 1} at {vcf_contigs[variants.variant_contig.values[i]]}:{s + 1} has REF "
                        f"{ref!r} but genome {genome.path} has {shown!r} there"
                    )
        for a in range(1, allele.shape[1]):
            alt = str(allele[i, a])
            if alt == "" and a > 1:
                break
            status = status_ref
            if _symbolic(alt):
                status = "symbolic" if status_ref != "missing_contig" else status_ref
            elif status == "ok" and alt.upper() == ref.upper():
                status = "same_as_ref"
            rows["variant"].append(i)
            rows["alt"].append(a)
            rows["contig"].append(c)
            rows["start"].append(start_of[i])
            rows["ref_length"].append(ref_codes.size)
            rows["alt_codes"].append(_codes(alt) if status == "ok" else np.zeros(0, np.uint8))
            rows["status"].append(status)
    status = np.array(rows["status"], dtype="<U16")
    counts = {s: int((status == s).sum()) for s in STATUSES}
    counts["variants"] = int(allele.shape[0])
    counts["multiallelic_sites"] = int(((allele[:, 1:] != "").sum(axis=1) > 1).sum()) if allele.shape[1] > 1 else 0
    missing = sorted({vcf_contigs[k] for k in np.unique(variants.variant_contig.values) if to_genome[k] < 0})
    if missing:
        log.warning("%s: %d alleles on contigs not in the genome (%s); skipped. Give an alias file to map them.",
                    source, counts["missing_contig"], ", ".join(missing[:5]))
    counts["missing_contigs"] = missing
    for name in ("ref_mismatch", "symbolic", "same_as_ref"):
        if counts[name]:
            log.warning("%s: %d alleles %s; skipped", source, counts[name], name.replace("_", " "))
    return AlleleTable(
        variant=np.array(rows["variant"], dtype=np.int64),
        alt=np.array(rows["alt"], dtype=np.int64),
        contig=np.array(rows["contig"], dtype=np.int64),
        start=np.array(rows["start"], dtype=np.int64),
        ref_length=np.array(rows["ref_length"], dtype=np.int64),
        alt_codes=rows["alt_codes"],
        status=status,
        counts=counts,
    )
