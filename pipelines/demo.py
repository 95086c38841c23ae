"""The main job on the embedded demo data: 2 Mb of A. thaliana TAIR10 chromosome 1."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

DEMO_DATA = Path(__file__).parent / "demo_data"
DEMO_FASTA = DEMO_DATA / "TAIR10_chr1_1-2000000.fa.gz"
DEMO_GFF = DEMO_DATA / "TAIR10_chr1_1-2000000.gff3.gz"
DEMO_MODEL = DEMO_DATA / "ath_chr1_genes.model"


def _predict_genes(genome, windows, frame, output: Path) -> None:
    """The demo model's probability for every gene window, beside the window table."""
    from scanner.models.model_file import load_model
    from scanner.tiling.sequences import window_sequences

    model = load_model(DEMO_MODEL)
    model.card.check_windows(int(windows.attrs["window_length"]), windows.attrs["layout"], where=str(DEMO_MODEL))
    codes = window_sequences(genome, windows).values
    logits = model.predict_codes(codes)[:, 0]
    table = frame[["contig", "gene_id", "strand"]].copy()
    table["logit"] = logits
    table["probability"] = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    table.to_csv(output / "gene_predictions.tsv", sep="\t", index=False, float_format="%.5g")
    held_out = model.card.metrics.get("validation", {})
    click.echo(
        f"predictions   {output / 'gene_predictions.tsv'}: demo model ({model.card.architecture}, held-out AUROC "
        f"{held_out.get('auroc', float('nan')):.3f} on {model.card.training.get('heldout_regions', ['?'])[0]}); "
        f"{(table.probability >= 0.5).mean():.1%} of the demo genes called gene-like"
    )


def run_demo(output: Path, *, scheduler: str | None = None, workers: int | None = None) -> None:
    """Ingest the demo genome, build DeepCRE gene windows, scan JASPAR plant motifs, predict
    with the demo model, and run ``scanner annotate`` (the CRE map) on it."""
    from scanner.cluster import dask_client
    from scanner.genome.ingest import ingest_fasta
    from scanner.genome.store import open_genome
    from scanner.tiling.genes import gene_windows

    from .cli import _print_genome_info, _print_window_summary
    from .progress import byte_progress
    from .windows_job import write_windows

    output.mkdir(parents=True, exist_ok=True)
    store = output / "genome.zarr"
    with byte_progress(DEMO_FASTA.stat().st_size, "ingest demo genome") as update:
        ingest_fasta(DEMO_FASTA, store, on_progress=update)
    _print_genome_info(store)
    genome = open_genome(store)
    wins = gene_windows(genome, DEMO_GFF, layout="deepcre")
    with dask_client(scheduler, n_workers=workers) as client:
        wins = write_windows(genome, wins, output / "windows.zarr", client=client, sequences=True)
    _print_window_summary(wins, output / "windows.zarr")
    table = wins[["window_gene_id", "window_strand", "window_gene_start", "window_gene_end", "window_padded"]]
    frame = table.to_dataframe().rename(columns=lambda c: c.removeprefix("window_"))
    frame.insert(0, "contig", [str(genome.contig_names[i]) for i in wins.window_contig.values])
    frame.to_csv(output / "gene_windows.tsv", sep="\t", index=False)
    click.echo(f"summary       {output / 'gene_windows.tsv'} (one line per gene window, 0-based gene coordinates)")
    _predict_genes(genome, wins, frame, output)

    from scanner.motifs import read, scan, to_bed, to_bigwig

    motifs = read("jaspar2024:plants")
    hits = scan(genome, motifs, pvalue=1e-4, output=output / "motif_hits.zarr", workers=workers)
    to_bed(hits, output / "motif_hits.bed")
    to_bigwig(hits, output / "motif_track.bw")
    click.echo(
        f"motif hits    {output / 'motif_hits.zarr'}: {hits.sizes['hits']:,} hits of {len(motifs)} JASPAR 2024 plant "
        f"motifs at p < 1e-4; {output / 'motif_hits.bed'}, {output / 'motif_track.bw'}"
    )

    from .annotate import run_annotate

    click.echo(f"CRE map       scanner annotate with the demo model, into {output / 'cre_map'}:")
    run_annotate(genome=store, gff=DEMO_GFF, model=DEMO_MODEL, motifs="jaspar2024:plants", output=output / "cre_map",
                 method="gradient", references=20, seed=0, fdr=0.2, pvalue=1e-4, workers=workers, scheduler=scheduler,
                 device="auto")
