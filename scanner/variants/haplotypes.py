"""Per-accession predictions: each gene's window with all of a haplotype's alleles.

For every sample and haplotype (ploidy slot), each gene window is rebuilt with
all ALT alleles that haplotype carries in the window's segments, applied jointly
in position order (:mod:`scanner.variants.edited_windows`). Identical haplotypes
are found twice over before any model runs: first identical allele vectors over
the gene's variant sites, then identical window sequences; each distinct window
is predicted once. The cost so grows with the number of distinct haplotypes per
gene, not with the number of samples.

Genotype rules (documented behaviour, counted in the attributes):

- phased calls, haploid calls and homozygous unphased calls are used as they are;
- a heterozygous unphased call in a gene's window is refused
  (:class:`HaplotypeError`, naming the sample and the variant): which alleles
  travel together is unknown, and guessing would invent haplotypes;
- a missing call (``.``) counts as REF;
- an allele that cannot be applied (symbolic, REF mismatch) counts as REF;
- an allele overlapping an earlier allele of the same haplotype is dropped, as
  ``bcftools consensus`` does;
- a fill value (a haploid call in a polyploid panel) gives no haplotype: NaN.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .alleles import AlleleTable, allele_table
from .edited_windows import edited_window, non_overlapping, span_for
from .variant_windows import SpanReader, gene_effects, window_anchors

log = logging.getLogger(__name__)


class HaplotypeError(ValueError):
    """Genotypes that do not define haplotypes (unphased heterozygous calls)."""


@dataclass
class GeneHaplotypes:
    """The distinct windows of one gene across a panel.

    Attributes
    ----------
    window : int
        Row in the windows table.
    codes : ndarray of uint8 (distinct, length)
        Row 0 is the reference window.
    index : ndarray of int32 (samples, ploidy)
        Row of ``codes`` for each haplotype; -1 where there is none (fill).
    dropped_overlaps : int
        Alleles dropped because they overlap an earlier allele of the haplotype.
    """

    window: int
    codes: np.ndarray
    index: np.ndarray
    dropped_overlaps: int = 0


def _check_phasing(genotype: np.ndarray, phased: np.ndarray, sites: np.ndarray, variants: xr.Dataset) -> None:
    calls = genotype[sites]  # (sites, samples, ploidy)
    called = calls >= 0
    first = np.where(called[..., :1], calls[..., :1], -9)
    het = (called & (calls != first)).any(axis=2) & ~phased[sites]
    if het.any():
        site, sample = np.argwhere(het)[0]
        v = sites[site]
        contig = str(variants.contig_id.values[variants.variant_contig.values[v]])
        raise HaplotypeError(
            f"{variants.attrs.get('source', 'variants')}: {int(het.sum())} heterozygous unphased calls in gene windows, "
            f"first sample {variants.sample_id.values[sample]!s} at {contig}:{int(variants.variant_position.values[v])}; "
            "haplotypes need phased genotypes (phase the panel first, e.g. with Beagle or SHAPEIT)"
        )


def gene_haplotypes(genome, windows: xr.Dataset, variants: xr.Dataset, alleles: AlleleTable):
    """Distinct haplotype windows of every gene window, in window order.

    Parameters
    ----------
    genome : Genome
    windows : xarray.Dataset
        Gene windows (computed).
    variants : xarray.Dataset
        With ``call_genotype`` and ``call_genotype_phased``.
    alleles : AlleleTable
        Of ``variants``.

    Yields
    ------
    GeneHaplotypes
    """
    if "call_genotype" not in variants:
        raise HaplotypeError(f"{variants.attrs.get('source', 'variants')} has no genotypes (no samples)")
    genotype = variants.call_genotype.values
    phased = variants.call_genotype_phased.values
    n_samples, ploidy = genotype.shape[1], genotype.shape[2]
    effects = gene_effects(windows, alleles)
    # allele row of (variant, allele index): only scorable alleles are applied
    lookup = {(int(v), int(a)): r for r, (v, a) in enumerate(zip(alleles.variant, alleles.alt)) if alleles.ok[r]}
    anchors = window_anchors(windows)
    length = int(windows.attrs["window_length"])
    masked = windows.position_masked.values if "position_masked" in windows else None
    masked = masked if masked is not None and masked.any() else None
    seg_start, seg_end = windows.window_segment_start.values, windows.window_segment_end.values
    seg_offset, minus = windows.window_segment_offset.values, windows.window_strand.values == "-"
    contig = windows.window_contig.values
    order = np.argsort(effects.window, kind="stable")
    bounds = np.searchsorted(effects.window[order], np.arange(windows.sizes["windows"] + 1))
    longest = max([int(alleles.ref_length.max(initial=1))] + [len(a) for a in alleles.alt_codes])
    reader = SpanReader(genome)
    no_haplotype = (genotype == -2).all(axis=0) if genotype.shape[0] else np.zeros((n_samples, ploidy), bool)
    for w in range(windows.sizes["windows"]):
        sites = np.unique(alleles.variant[effects.allele[order[bounds[w] : bounds[w + 1]]]])
        seg = (seg_start[w], seg_end[w], seg_offset[w], anchors[w])
        # the widest span any haplotype of this window may need
        lo, hi = span_for(seg[0], seg[1], length, 2 * longest * max(sites.size, 1))
        span = reader.fetch(int(contig[w]), lo, hi)
        none = np.zeros(0, np.int64)
        reference, _ = edited_window(span, lo, none, none, [], *seg, bool(minus[w]), length, masked)
        if sites.size == 0:
            index = np.where(no_haplotype, -1, 0).astype(np.int32)
            yield GeneHaplotypes(w, reference[None, :], index)
            continue
        _check_phasing(genotype, phased, sites, variants)
        calls = genotype[sites].reshape(sites.size, n_samples * ploidy).T  # (haplotypes, sites)
        vectors, inverse = np.unique(np.maximum(calls, 0), axis=0, return_inverse=True)
        seen = {reference.tobytes(): 0}
        codes = [reference]
        distinct = np.empty(vectors.shape[0], np.int32)
        dropped = 0
        for h, vector in enumerate(vectors):
            rows = [lookup[(int(v), int(a))] for v, a in zip(sites, vector) if a > 0 and (int(v), int(a)) in lookup]
            rows = np.array(rows, dtype=np.int64)
            if rows.size:
                rows = rows[np.argsort(alleles.start[rows], kind="stable")]
                keep = non_overlapping(alleles.start[rows], alleles.ref_length[rows])
                dropped += int((~keep).sum())
                rows = rows[keep]
            window, _ = edited_window(span, lo, alleles.start[rows], alleles.ref_length[rows],
                                      [alleles.alt_codes[r] for r in rows], *seg, bool(minus[w]), length, masked)
            key = window.tobytes()
            if key not in seen:
                seen[key] = len(codes)
                codes.append(window)
            distinct[h] = seen[key]
        index = distinct[inverse.reshape(-1)].reshape(n_samples, ploidy)
        index[no_haplotype] = -1
        yield GeneHaplotypes(w, np.stack(codes), index, dropped)


def haplotype_predictions(variants: xr.Dataset, genome, model_path: str | os.PathLike, gff, output: str | os.PathLike, *,
                          alias_file=None, client=None, block_size: int = 256, batch_size: int = 128,
                          device: str = "auto", gpu: bool = False, keep_work: bool = False,
                          on_progress=None) -> xr.Dataset:
    """Predict every gene of every haplotype of a panel; write the result to ``output``.

    Parameters
    ----------
    variants : xarray.Dataset
        From :func:`scanner.variants.read_variants`, with genotypes.
    genome : Genome
    model_path : path-like
    gff : path-like
        Gene annotation; windows follow the model's layout.
    output : path-like
        Zarr store, replaced only when the job finishes.
    alias_file, client, block_size, batch_size, device, gpu, keep_work
        As in :func:`scanner.variants.scoring.score_variants`.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``.

    Returns
    -------
    xarray.Dataset
        ``haplotype_prediction`` (samples, ploidy, genes, targets): probability for
        classification models, model output otherwise; ``haplotype_index``
        (samples, ploidy, genes): which distinct window of the gene (0 = the
        reference window, -1 = no haplotype); ``gene_reference_prediction`` (genes,
        targets); ``gene_distinct_haplotypes`` (genes): distinct windows among
        the panel's haplotypes; ``gene_id``, ``sample_id``, ``target_id``.
    """
    import zarr

    from ..inference.run import run_windows
    from ..models.model_file import read_card
    from ..tiling.genes import gene_windows_for_layout
    from .scoring import _as_probability, _write

    output = Path(output)
    card = read_card(model_path)
    alleles = allele_table(variants, genome, alias_file=alias_file)
    windows = gene_windows_for_layout(genome, gff, card.window_layout, alias_file=alias_file).compute()
    card.check_windows(int(windows.attrs["window_length"]), windows.attrs.get("layout"), where=str(model_path))
    length = int(windows.attrs["window_length"])
    n_genes = windows.sizes["windows"]
    work = output.with_name(f".{output.name}.work")
    work.mkdir(parents=True, exist_ok=True)
    block = -(-int(block_size) // int(batch_size)) * int(batch_size)
    array = zarr.create_array(work / "haplotype_codes.zarr", shape=(0, length), chunks=(block, length), dtype="uint8",
                              fill_value=4, overwrite=True, zarr_format=3)
    n_samples, ploidy = variants.sizes["samples"], variants.sizes["ploidy"]
    index = np.full((n_samples, ploidy, n_genes), -1, np.int32)
    first_row = np.zeros(n_genes, np.int64)
    distinct = np.zeros(n_genes, np.int32)
    source_window, buffer, buffered, written, dropped = [], [], 0, 0, 0
    for gene in gene_haplotypes(genome, windows, variants, alleles):
        first_row[gene.window] = written + buffered
        buffer.append(gene.codes)
        buffered += gene.codes.shape[0]
        source_window += [gene.window] * gene.codes.shape[0]
        index[:, :, gene.window] = gene.index
        used = np.unique(gene.index[gene.index >= 0])
        distinct[gene.window] = used.size
        dropped += gene.dropped_overlaps
        if on_progress and gene.window % 100 == 0:
            on_progress("haplotype windows", gene.window + 1, n_genes)
        if buffered >= 16 * block:
            written = _append(array, buffer, written)
            buffer, buffered = [], 0
    written = _append(array, buffer, written)
    if on_progress:
        on_progress("haplotype windows", n_genes, n_genes)
    log.info("%d genes, %d distinct haplotype windows (reference included); %d overlapping alleles dropped",
             n_genes, written, dropped)
    source = windows.isel(windows=np.array(source_window, dtype=np.int64))
    run = run_windows(genome, source, model_path, work / "haplotypes.zarr", codes=work / "haplotype_codes.zarr",
                      client=client, block_size=block_size, batch_size=batch_size, device=device, gpu=gpu,
                      on_progress=(lambda d, t: on_progress("predict", d, t)) if on_progress else None)
    predictions = _as_probability(run.window_prediction.values, card.task)
    rows = np.where(index >= 0, first_row[None, None, :] + index, 0)
    per_haplotype = np.where((index >= 0)[..., None], predictions[rows], np.nan)
    ds = xr.Dataset(
        {
            "haplotype_prediction": (("samples", "ploidy", "genes", "targets"), per_haplotype.astype(np.float32)),
            "haplotype_index": (("samples", "ploidy", "genes"), index),
            "gene_reference_prediction": (("genes", "targets"), predictions[first_row].astype(np.float32)),
            "gene_distinct_haplotypes": ("genes", distinct),
            "gene_id": ("genes", windows.window_gene_id.values.astype(str)),
            "gene_contig": ("genes", windows.window_contig.values),
            "gene_start": ("genes", windows.window_gene_start.values),
            "gene_end": ("genes", windows.window_gene_end.values),
            "gene_strand": ("genes", windows.window_strand.values.astype(str)),
            "contig_id": ("contigs", windows.contig_id.values.astype(str)),
            "sample_id": ("samples", variants.sample_id.values.astype(str)),
            "target_id": ("targets", np.array(card.targets, dtype=str)),
        },
        attrs={
            "source": variants.attrs.get("source", ""),
            "genome_path": str(genome.path),
            "model_path": str(model_path),
            "prediction_scale": "probability" if card.task == "classification" else "model output",
            "distinct_windows": int(written),
            "dropped_overlapping_alleles": int(dropped),
            **{f"count_{k}": int(v) for k, v in alleles.counts.items() if k != "missing_contigs"},
            "missing_calls_as_ref": int((variants.call_genotype.values == -1).sum()),
        },
    )
    _write(ds, output)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return xr.open_zarr(output, consolidated=False)


def _append(array, buffer: list, written: int) -> int:
    if not buffer:
        return written
    rows = np.concatenate(buffer)
    array.resize((written + rows.shape[0], array.shape[1]))
    array[written : written + rows.shape[0]] = rows
    return written + rows.shape[0]
