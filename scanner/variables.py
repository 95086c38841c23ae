"""The registry of variables the engine writes: name, dims, dtype kind, meaning.

Every dataset the engine returns is checked against it (:func:`validate`) and each
variable carries its meaning as the ``comment`` attribute, so a user sees what a
variable holds without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr


@dataclass(frozen=True)
class Variable:
    name: str
    dims: tuple[str, ...]
    kind: str  # numpy dtype kinds accepted, e.g. "i", "iu", "U", "b", "f"
    doc: str


_VARIABLES = [
    Variable("contig_id", ("contigs",), "UO", "Contig names, as in the genome store."),
    Variable("contig_length", ("contigs",), "i", "Number of bases in each contig."),
    Variable("window_contig", ("windows",), "i", "Index into contig_id of the window's contig."),
    Variable(
        "window_start",
        ("windows",),
        "i",
        "0-based start of the genome span the window covers (may be < 0 or run past the "
        "contig end; such bases are N).",
    ),
    Variable("window_end", ("windows",), "i", "0-based, exclusive end of the genome span the window covers."),
    Variable("window_strand", ("windows",), "U", "'+' or '-': '-' windows hold the reverse complement."),
    Variable(
        "window_segment_start",
        ("windows", "segments"),
        "i",
        "0-based start of each genome segment placed in the window (start == end: no segment).",
    ),
    Variable("window_segment_end", ("windows", "segments"), "i", "0-based, exclusive end of each segment."),
    Variable(
        "window_segment_offset",
        ("windows", "segments"),
        "i",
        "Window position of the segment's first base in window orientation (reverse "
        "complemented for '-' windows).",
    ),
    Variable("window_gene_id", ("windows",), "UO", "Gene ID the window belongs to (GFF3 ID, prefix 'gene-'/'gene:' removed)."),
    Variable("seqlet_contig", ("seqlets",), "i", "Index into contig_id of the seqlet's contig."),
    Variable("seqlet_start", ("seqlets",), "i", "0-based start of the seqlet in the genome."),
    Variable("seqlet_end", ("seqlets",), "i", "0-based, exclusive end of the seqlet in the genome."),
    Variable("seqlet_strand", ("seqlets",), "U", "Strand of the window the seqlet was called in ('.' on stitched tracks)."),
    Variable("seqlet_sign", ("seqlets",), "i", "+1 for a seqlet of positive contribution, -1 for negative."),
    Variable("seqlet_sum", ("seqlets",), "f", "Sum of the contribution over the seqlet's core window."),
    Variable("seqlet_peak", ("seqlets",), "f", "Largest absolute per-base contribution in the seqlet."),
    Variable("seqlet_window", ("seqlets",), "i", "Index of the gene window the seqlet was called in (-1 on tracks)."),
    Variable("seqlet_slot_start", ("seqlets",), "i", "Window position of the seqlet's first base (-1 on tracks)."),
    Variable("seqlet_pvalue", ("seqlets",), "f",
             "Recursive method: p-value of the called span's binned sum under the run's null (a ranking score, "
             "not an error rate)."),
    Variable("cre_contig", ("cres",), "i", "Index into contig_id of the CRE's contig."),
    Variable("cre_start", ("cres",), "i", "0-based start of the CRE (its seqlet)."),
    Variable("cre_end", ("cres",), "i", "0-based, exclusive end of the CRE."),
    Variable("cre_strand", ("cres",), "U", "Strand of the best motif hit in the CRE ('.' without one)."),
    Variable("cre_sign", ("cres",), "i", "+1: the CRE raises the model output; -1: lowers it."),
    Variable("cre_contribution", ("cres",), "f", "Summed contribution of the CRE's core window."),
    Variable("cre_peak", ("cres",), "f", "Largest absolute per-base contribution in the CRE."),
    Variable("cre_hits", ("cres",), "i", "Motif hits overlapping the CRE."),
    Variable("cre_motif_id", ("cres",), "UO", "Motif of the CRE's best (lowest p-value) overlapping hit; empty without one."),
    Variable("cre_motif_name", ("cres",), "UO", "Name of that motif (the JASPAR TF name)."),
    Variable("cre_motif_pvalue", ("cres",), "f", "p-value of that hit (NaN without one)."),
    Variable("cre_region", ("cres",), "UO", "promoter, terminator, genic or distal, relative to the nearest gene."),
    Variable("cre_gene_id", ("cres",), "UO", "The nearest gene (the gene of the region)."),
    Variable("cre_distance_tss", ("cres",), "i", "Signed distance of the CRE centre to that gene's TSS (negative: upstream)."),
    Variable("cre_distance_tts", ("cres",), "i", "Signed distance of the CRE centre to that gene's TTS (negative: before it)."),
    Variable("cre_pattern", ("cres",), "UO", "Discovered (TF-MoDISco) pattern whose seqlet overlaps the CRE most; empty if none."),
    Variable("cre_pattern_match", ("cres",), "UO", "Best database match of that pattern (id and name); empty if none."),
    Variable("pattern_seqlet_pattern", ("pattern_seqlets",), "UO", "Name of the discovered pattern the seqlet belongs to."),
    Variable("pattern_seqlet_window", ("pattern_seqlets",), "i", "Run window (example) the seqlet lies in."),
    Variable("pattern_seqlet_slot_start", ("pattern_seqlets",), "i", "First window position of the seqlet."),
    Variable("pattern_seqlet_slot_end", ("pattern_seqlets",), "i", "Window position just past the seqlet."),
    Variable("pattern_seqlet_revcomp", ("pattern_seqlets",), "b", "The seqlet joins its pattern reverse-complemented."),
    Variable("pattern_seqlet_contig", ("pattern_seqlets",), "i", "Index into contig_id of the seqlet's contig (-1: no genome base)."),
    Variable("pattern_seqlet_start", ("pattern_seqlets",), "i", "0-based genome start of the seqlet (-1: no genome base)."),
    Variable("pattern_seqlet_end", ("pattern_seqlets",), "i", "0-based, exclusive genome end of the seqlet (-1: no genome base)."),
    Variable("window_name", ("windows",), "UO", "Name of the window's source record (BED name, or 'background_<n>')."),
    Variable("window_gene_start", ("windows",), "i", "0-based start of the gene."),
    Variable("window_gene_end", ("windows",), "i", "0-based, exclusive end of the gene."),
    Variable("window_padded", ("windows",), "b", "True where the window needed N padding (short gene or contig edge)."),
    Variable(
        "position_masked",
        ("positions",),
        "b",
        "Window positions the layout always sets to N (DeepCRE masks 3 bases at the gene start and end).",
    ),
    Variable(
        "window_sequence",
        ("windows", "positions"),
        "u",
        "Base codes of each window in window orientation (A=0, C=1, G=2, T=3, N=4, +8 soft-masked).",
    ),
]

_VARIABLES += [
    Variable("hit_contig", ("hits",), "i", "Index into contig_id of the hit's contig."),
    Variable("hit_start", ("hits",), "i", "0-based start of the motif match."),
    Variable("hit_end", ("hits",), "i", "0-based, exclusive end of the motif match."),
    Variable("hit_strand", ("hits",), "U", "'+' (motif as given) or '-' (its reverse complement)."),
    Variable("hit_motif", ("hits",), "i", "Index into motif_id of the matching motif."),
    Variable("hit_score", ("hits",), "f", "Log-odds score in bits, as FIMO reports it (from the integer-scaled PSSM)."),
    Variable("hit_pvalue", ("hits",), "f", "P-value of the score under the background, exact as FIMO computes it."),
    Variable(
        "hit_qvalue",
        ("hits",),
        "f",
        "Benjamini-Hochberg q-value within the motif, over all windows tested on both strands.",
    ),
    Variable("motif_id", ("motifs",), "UO", "Motif identifiers (JASPAR matrix ID or MEME MOTIF name)."),
    Variable("motif_name", ("motifs",), "UO", "Second motif name (JASPAR TF name; FIMO's motif_alt_id)."),
    Variable("motif_width", ("motifs",), "i", "Motif width in bases."),
    Variable("motif_tested_windows", ("motifs",), "i", "Windows without N scored for the motif, both strands counted."),
    Variable("effect_variant", ("effects",), "i", "Row of the variant (in variants) the effect scores."),
    Variable("effect_allele", ("effects",), "i", "Allele index of the ALT scored (1 = first ALT), as in call_genotype."),
    Variable("effect_window", ("effects",), "i", "Index of the window (gene window, or window centred on the variant) the allele was scored in."),
    Variable("effect_ref_slot", ("effects",), "i", "Window position of the first REF base (-1: masked or outside)."),
    Variable("effect_gene_id", ("effects",), "UO", "Gene of the window the allele was scored in."),
    Variable("effect_ref_prediction", ("effects", "targets"), "f", "Prediction of the REF window (probability for classification models)."),
    Variable("effect_alt_prediction", ("effects", "targets"), "f", "Prediction of the window with the ALT allele applied, re-anchored."),
    Variable("effect_difference", ("effects", "targets"), "f", "ALT prediction minus REF prediction."),
    Variable("effect_log2_ratio", ("effects", "targets"), "f", "log2(ALT / REF prediction); NaN where either is <= 0."),
    Variable("effect_ref_contribution", ("effects",), "f", "Summed actual contribution of the REF bases in the REF window."),
    Variable("effect_alt_contribution", ("effects",), "f", "Summed actual contribution of the ALT bases in the ALT window."),
    Variable("effect_contribution_change", ("effects",), "f", "ALT contribution minus REF contribution at the allele."),
    Variable("variant_ref_prediction", ("variants", "alt_alleles", "targets"), "f", "REF prediction in the window of largest |difference| (NaN: not scored)."),
    Variable("variant_alt_prediction", ("variants", "alt_alleles", "targets"), "f", "ALT prediction in the window of largest |difference|."),
    Variable("variant_difference", ("variants", "alt_alleles", "targets"), "f", "ALT - REF prediction in the window of largest |difference|."),
    Variable("variant_log2_ratio", ("variants", "alt_alleles", "targets"), "f", "log2(ALT / REF) in the window of largest |difference|."),
    Variable("variant_windows_scored", ("variants", "alt_alleles"), "i", "Windows the ALT allele was scored in."),
    Variable("variant_allele_status", ("variants", "alt_alleles"), "U", "ok, ref_mismatch, symbolic, missing_contig, same_as_ref, outside_windows ('' : no such ALT)."),
    Variable("variant_position", ("variants",), "i", "1-based position of the variant's first REF base, as in the VCF."),
    Variable("variant_index", ("variants",), "i", "Index of the record among all records of the source VCF / VCF Zarr."),
    Variable("call_difference", ("variants", "samples", "targets"), "f", "Sum over the call's alleles of their ALT - REF difference (REF and unscored alleles add 0; NaN where an allele is missing)."),
    Variable("haplotype_prediction", ("samples", "ploidy", "genes", "targets"), "f", "Prediction of the gene's window with all the haplotype's alleles applied (NaN: no haplotype)."),
    Variable("haplotype_index", ("samples", "ploidy", "genes"), "i", "Which distinct window of the gene the haplotype has (0: the reference; -1: none)."),
    Variable("gene_distinct_haplotypes", ("genes",), "i", "Distinct windows among the panel's haplotypes of the gene."),
    Variable("gene_reference_prediction", ("genes", "targets"), "f", "Prediction of the gene's reference window."),
    Variable("motif_change_ref_pvalue", ("motif_changes",), "f", "Best FIMO p-value of the motif over windows touching the REF allele."),
    Variable("motif_change_alt_pvalue", ("motif_changes",), "f", "Best FIMO p-value of the motif over windows touching the ALT allele."),
    Variable("motif_change_kind", ("motif_changes",), "U", "gain (ALT crosses the threshold) or loss (REF does, ALT does not)."),
]

VARIABLES: dict[str, Variable] = {v.name: v for v in _VARIABLES}


def annotate(ds: xr.Dataset) -> xr.Dataset:
    """Set each registered variable's ``comment`` attribute from the registry."""
    for name in ds.variables:
        if name in VARIABLES:
            ds[name].attrs["comment"] = VARIABLES[name].doc
    return ds


def validate(ds: xr.Dataset, *names: str) -> None:
    """Check that ``ds`` holds ``names`` (default: all its registered variables)
    with the registered dims and dtype kind.

    Raises
    ------
    ValueError
        Naming the variable and what was expected.
    """
    names = names or tuple(n for n in ds.variables if n in VARIABLES)
    for name in names:
        if name not in ds.variables:
            raise ValueError(f"dataset has no variable {name!r}")
        spec = VARIABLES[name]
        var = ds[name]
        if var.dims != spec.dims:
            raise ValueError(f"{name} has dims {var.dims}, expected {spec.dims}")
        if var.dtype.kind not in spec.kind:
            raise ValueError(f"{name} has dtype {var.dtype}, expected kind {spec.kind!r}")
