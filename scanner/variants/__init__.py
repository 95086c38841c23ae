"""Variant effects: VCF / VCF Zarr in, per-allele effects and per-haplotype predictions out."""

from __future__ import annotations

from .._exports import lazy_getattr

_EXPORTS = {
    "read_variants": "scanner.variants.vcf",
    "VariantFormatError": "scanner.variants.vcf",
    "allele_table": "scanner.variants.alleles",
    "VariantCheckError": "scanner.variants.alleles",
    "score_variants": "scanner.variants.scoring",
    "haplotype_predictions": "scanner.variants.haplotypes",
    "HaplotypeError": "scanner.variants.haplotypes",
    "motif_changes": "scanner.variants.motif_changes",
    "to_tsv": "scanner.variants.export",
    "to_vcf": "scanner.variants.export",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
