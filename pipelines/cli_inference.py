"""``scanner predict`` and ``scanner attribute``: runs over gene windows or tiles on Dask."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import _scheduler_options


def _windows_options(func):
    options = [
        click.argument("store", type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=".model file or user model card (.json)."),
        click.option("--genes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3: one window per gene, in the model's layout."),
        click.option("--tiles", is_flag=True, help="Tile the genome with windows of the model's input length instead."),
        click.option("--step", type=int, default=None, help="Tile step (default: half the input length)."),
        click.option("--flank", type=int, default=None, help="Tile flank (default: a quarter of the input length)."),
        click.option("--contig", "contigs", multiple=True, help="Contig to tile (repeatable; default all)."),
        click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The run's Zarr store."),
        click.option("--block-size", default=256, show_default=True, help="Windows per task."),
        click.option("--batch-size", default=128, show_default=True, help="Windows (or window-reference pairs) per forward pass."),
        click.option("--device", default="auto", show_default=True, help="auto (a worker's GPU if it has one), cpu or cuda."),
        click.option("--gpu", is_flag=True, help="Annotate tasks with the Dask resource GPU=1 (route them to GPU workers)."),
        click.option("--local", is_flag=True, help="Run in this process, without a Dask cluster."),
    ]
    for option in reversed(options):
        func = option(func)
    return _scheduler_options(func)


def _windows(genome, card, genes, tiles, step, flank, contigs):
    from scanner.tiling.genes import gene_windows_for_layout
    from scanner.tiling.tiles import tile_windows

    if bool(genes) == bool(tiles):
        raise click.UsageError("give exactly one of --genes GFF3 or --tiles")
    if tiles:
        length = card.input_length
        step = step or length // 2
        flank = (length - step) // 2 if flank is None else flank
        return tile_windows(genome, length=length, step=step, flank=flank, contigs=list(contigs) or None)
    layout = card.window_layout
    if layout.get("layout") not in ("deepcre", "promoter"):
        raise click.UsageError(f"the model was trained on '{layout.get('layout')}' windows; use --tiles")
    return gene_windows_for_layout(genome, genes, layout)


def _run(store, model_path, genes, tiles, step, flank, contigs, output, block_size, batch_size, device, gpu, local,
         scheduler, workers, **method):
    from contextlib import nullcontext

    from tqdm import tqdm

    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.inference.run import run_windows
    from scanner.models.model_file import read_card

    from .progress import show_progress

    genome = open_genome(store)
    windows = _windows(genome, read_card(model_path), genes, tiles, step, flank, contigs)
    context = nullcontext(None) if local else dask_client(scheduler, n_workers=workers)
    with context as client, tqdm(desc=method["method"], unit="block", disable=not show_progress(), file=sys.stderr) as bar:

        def update(done, total):
            bar.total = total
            bar.update(done - bar.n)

        return run_windows(genome, windows, model_path, output, client=client, block_size=block_size,
                           batch_size=batch_size, device=device, gpu=gpu, on_progress=update, **method)


@click.command("predict")
@_windows_options
@click.option("--tsv", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Table of window predictions (TSV, or Parquet when the name ends .parquet).")
@click.option("--bigwig", type=click.Path(dir_okay=False, path_type=Path), default=None, help="bigWig of tile predictions (tile runs).")
def predict(tsv, bigwig, **options):
    """Predict every gene window or tile; store predictions in the run's Zarr."""
    from scanner.inference.tracks import prediction_bigwig, prediction_table

    run = _run(method="predict", **options)
    table = prediction_table(run)
    if tsv:
        table.to_parquet(tsv) if tsv.suffix == ".parquet" else table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    if bigwig:
        prediction_bigwig(run, bigwig)
    click.echo(f"{run.sizes['windows']:,} windows predicted into {options['output']}"
               + "".join(f"; {label} {path}" for label, path in (("table", tsv), ("bigwig", bigwig)) if path))


@click.command("attribute")
@_windows_options
@click.option("--method", type=click.Choice(["deeplift-shap", "gradient", "integrated-gradients", "ism"]), default="gradient",
              show_default=True, help="gradient: gradient x input (1 backward pass); deeplift-shap: exact DeepLIFT rules against shuffled references.")
@click.option("--references", default=20, show_default=True, help="Dinucleotide-shuffled references per window (deeplift-shap, integrated-gradients).")
@click.option("--seed", default=0, show_default=True, help="Seed of the references.")
@click.option("--steps", default=16, show_default=True, help="Integration steps (integrated-gradients).")
@click.option("--target", default="0", show_default=True, help="Output attributed: index or target name.")
@click.option("--precision", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--storage", type=click.Choice(["float32", "float16"]), default="float32", show_default=True, help="dtype of the stored contributions.")
@click.option("--bigwig", type=click.Path(dir_okay=False, path_type=Path), default=None, help="bigWig of the per-base actual contribution.")
def attribute(method, references, seed, steps, target, precision, storage, bigwig, **options):
    """Per-base contributions of every gene window or tile to the model's output."""
    import numpy as np

    from scanner.inference.tracks import contribution_bigwig

    target = int(target) if target.isdigit() else target
    run = _run(method=method, references=references, seed=seed, steps=steps, target=target, precision=precision,
               storage=storage, **options)
    if bigwig:
        contribution_bigwig(run, bigwig)
    message = f"{run.sizes['windows']:,} windows attributed ({method}) into {options['output']}"
    if method in ("deeplift-shap", "integrated-gradients"):
        completeness = run.window_completeness.values
        message += (f"; completeness error (relative): median {np.nanmedian(completeness):.1e}, max {np.nanmax(completeness):.1e}, "
                    f"{int((completeness > 1e-4).sum())} windows above 1e-4")
    if bigwig:
        message += f"; bigwig {bigwig}"
    click.echo(message)
