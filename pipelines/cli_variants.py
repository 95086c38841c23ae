"""``scanner variants``: score a VCF or VCF Zarr panel with a model."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from .cli import _scheduler_options


@click.group("variants")
def variants():
    """Variant effects: per-variant scores and per-accession haplotype predictions."""


def _common(func):
    options = [
        click.argument("vcf", type=click.Path(exists=True, path_type=Path)),
        click.option("--genome", "store", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="Genome store (scanner genome ingest)."),
        click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=".model file or user model card (.json)."),
        click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Zarr store to write."),
        click.option("--region", default=None, help="Only variants in CONTIG[:START-END] (1-based; a VCF needs its index)."),
        click.option("--samples", default=None, help="Comma-separated sample IDs, or @FILE with one per line."),
        click.option("--alias-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Contig name aliases (one group per line)."),
        click.option("--block-size", default=256, show_default=True, help="Windows per task."),
        click.option("--batch-size", default=128, show_default=True, help="Windows per forward pass."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda."),
        click.option("--gpu", is_flag=True, help="Annotate tasks with the Dask resource GPU=1."),
        click.option("--local", is_flag=True, help="Run in this process, without a Dask cluster."),
    ]
    for option in reversed(options):
        func = option(func)
    return _scheduler_options(func)


def _samples(text):
    if text is None:
        return None
    if text.startswith("@"):
        return [line.strip() for line in Path(text[1:]).read_text().splitlines() if line.strip()]
    return [s for s in text.split(",") if s]


def _progress():
    from tqdm import tqdm

    from .progress import show_progress

    bars = {}

    def update(stage, done, total):
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(desc=stage, total=total, disable=not show_progress(), file=sys.stderr)
        bar = bars[stage]
        bar.total = total
        bar.update(done - bar.n)

    def close():
        for bar in bars.values():
            bar.close()

    return update, close


def _report(ds) -> str:
    counts = {k.removeprefix("count_"): v for k, v in ds.attrs.items() if k.startswith("count_")}
    skipped = [f"{counts[k]:,} {k.replace('_', ' ')}" for k in ("ref_mismatch", "symbolic", "missing_contig", "same_as_ref", "outside_windows") if counts.get(k)]
    text = f"{counts.get('variants', 0):,} variants, {counts.get('ok', 0):,} scorable ALT alleles"
    if counts.get("multiallelic_sites"):
        text += f" ({counts['multiallelic_sites']:,} multiallelic sites, scored per ALT)"
    if skipped:
        text += "; skipped: " + ", ".join(skipped)
    missing = list(ds.attrs.get("missing_contigs", []))
    if missing:
        text += f"; contigs not in the genome: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
    return text


@variants.command("score")
@_common
@click.option("--genes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3: score alleles in every gene window (model's layout) they fall in.")
@click.option("--tiles", is_flag=True, help="Score each variant in a window centred on it instead.")
@click.option("--strict", is_flag=True, help="Stop at the first REF that disagrees with the genome (default: report and skip).")
@click.option("--attribution", type=click.Choice(["gradient", "deeplift-shap", "integrated-gradients", "ism"]), default=None, help="Also the change in contribution at the allele, by this method.")
@click.option("--motifs", default=None, help="Motif gains and losses around each allele: motif file or database (jaspar2024:plants).")
@click.option("--motif-pvalue", default=1e-4, show_default=True, help="Threshold a gain or loss crosses.")
@click.option("--calls", is_flag=True, help="Also call_difference per sample (variants x samples x targets): the summed effect of the alleles each call carries.")
@click.option("--tsv", type=click.Path(dir_okay=False, path_type=Path), default=None, help="One row per ALT allele: status and scores.")
def score(vcf, store, model_path, output, region, samples, alias_file, block_size, batch_size, device, gpu, local,
          scheduler, workers, genes, tiles, strict, attribution, motifs, motif_pvalue, calls, tsv):
    """Score every ALT allele of VCF (VCF/BCF or VCF Zarr) with the model."""
    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.variants import read_variants, score_variants
    from scanner.variants.export import to_tsv

    if bool(genes) == bool(tiles):
        raise click.UsageError("give exactly one of --genes GFF3 or --tiles")
    genome = open_genome(store)
    panel = read_variants(vcf, region=region, samples=_samples(samples), genotypes=calls)
    update, close = _progress()
    context = nullcontext(None) if local else dask_client(scheduler, n_workers=workers)
    try:
        with context as client:
            ds = score_variants(panel, genome, model_path, output, gff=genes, tiles=tiles, alias_file=alias_file,
                                strict=strict, attribution=attribution, motifs=motifs, motif_pvalue=motif_pvalue,
                                client=client, block_size=block_size, batch_size=batch_size, device=device, gpu=gpu,
                                calls=calls, on_progress=update)
    finally:
        close()
    if tsv:
        to_tsv(ds, tsv)
    click.echo(f"{_report(ds)}; {ds.sizes.get('effects', 0):,} allele-window effects in {output}" + (f"; table {tsv}" if tsv else ""))


@variants.command("haplotypes")
@_common
@click.option("--genes", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="GFF3: the gene windows (model's layout).")
def haplotypes(vcf, store, model_path, output, region, samples, alias_file, block_size, batch_size, device, gpu, local,
               scheduler, workers, genes):
    """Predict each gene of every sample's haplotypes (phased genotypes), each distinct window once."""
    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.variants import haplotype_predictions, read_variants

    genome = open_genome(store)
    panel = read_variants(vcf, region=region, samples=_samples(samples))
    update, close = _progress()
    context = nullcontext(None) if local else dask_client(scheduler, n_workers=workers)
    try:
        with context as client:
            ds = haplotype_predictions(panel, genome, model_path, genes, output, alias_file=alias_file, client=client,
                                       block_size=block_size, batch_size=batch_size, device=device, gpu=gpu,
                                       on_progress=update)
    finally:
        close()
    n = ds.sizes["samples"]
    click.echo(f"{n:,} sample{'s' if n != 1 else ''} x {ds.sizes['ploidy']} haplotypes x {ds.sizes['genes']:,} genes: "
               f"{ds.attrs['distinct_windows']:,} distinct windows predicted (reference included) into {output}")


@variants.command("export")
@click.argument("effects", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--vcf", "vcf_out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the source VCF again with the scores as INFO fields (.vcf.gz: bgzipped).")
@click.option("--source", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="The VCF the effects came from (default: as recorded in the effects).")
@click.option("--tsv", type=click.Path(dir_okay=False, path_type=Path), default=None, help="One row per ALT allele.")
def export(effects, vcf_out, source, tsv):
    """Export a `variants score` result as an annotated VCF and/or a TSV."""
    import xarray as xr

    from scanner.variants.export import to_tsv, to_vcf

    if not vcf_out and not tsv:
        raise click.UsageError("give --vcf and/or --tsv")
    ds = xr.open_zarr(effects, consolidated=False)
    if "variant_allele_status" not in ds:
        raise click.UsageError(f"{effects} is not a `scanner variants score` result")
    written = []
    if vcf_out:
        source = source or Path(ds.attrs.get("source", ""))
        if not source or not Path(source).is_file():
            raise click.UsageError(f"the effects' source {source} is not a VCF file here; give --source")
        written.append(str(to_vcf(ds, source, vcf_out)))
    if tsv:
        written.append(str(to_tsv(ds, tsv)))
    click.echo("wrote " + ", ".join(written))
