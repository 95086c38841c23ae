"""``scanner annotate``: genome + annotation + model in, a map of cis-regulatory elements out.

Stages, each writing into the output folder and each safe to run again:

1. ``genome.zarr``: the FASTA ingested (nothing redone for the same file);
2. ``attribution.zarr``: per-base contributions of every gene window in the
   model's layout, or of tiles over the whole genome (``tiles=True``; CREs can
   then be distal), resumable block by block;
3. ``seqlets.zarr`` / ``seqlets.bed``: TF-MoDISco seqlets; with ``discover``,
   ``patterns/``: modisco-lite patterns of the run, their members and their
   JASPAR matches;
4. ``motif_hits.zarr``: motif hits (FIMO's p-values) around the seqlets, or on
   the whole of every contig with seqlets (``motif_scan="genome"``);
5. ``cres.zarr``, ``cres.bed``, ``cres.tsv``, ``cres_per_gene.tsv``,
   ``motif_ranking.tsv`` and ``contributions.bw``: the CRE map.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

log = logging.getLogger(__name__)


def run_annotate(*, genome: Path, gff: Path, model: Path, motifs: str, output: Path, method: str, references: int,
                 seed: int, fdr: float, pvalue: float, workers: int | None, scheduler: str | None, device: str,
                 max_passing: float = 0.2, motif_scan: str = "seqlets", discover: bool = False, max_seqlets: int = 2000,
                 leiden_runs: int = 8, tiles: bool = False, step: int | None = None, flank: int | None = None) -> None:
    from scanner.cluster import dask_client
    from scanner.cres.cre_map import cre_map, cre_table, summaries, to_bed as cres_bed
    from scanner.genome.ingest import ingest_fasta
    from scanner.genome.store import open_genome
    from scanner.genome.store_format import quiet_zarr_string_warnings
    from scanner.inference.run import run_windows
    from scanner.inference.tracks import contribution_bigwig
    from scanner.models.model_file import read_card
    from scanner.seqlets.calling import call_seqlets, to_bed as seqlets_bed
    from scanner.storage import atomic_output
    from scanner.tiling.genes import gene_windows

    from .cli_inference import _windows
    from .progress import byte_progress

    output.mkdir(parents=True, exist_ok=True)
    if genome.is_dir():
        store = genome
    else:
        store = output / "genome.zarr"
        with byte_progress(genome.stat().st_size, "1/5 ingest") as update:
            ingest_fasta(genome, store, on_progress=update)
    genome_store = open_genome(store)
    card = read_card(model)
    if tiles and card.window_layout.get("layout") in ("deepcre", "promoter"):
        raise click.UsageError(f"{model} was trained on {card.window_layout['layout']} gene windows; "
                               "annotate --tiles needs a model of tiles or regions")
    windows = _windows(genome_store, card, None if tiles else gff, tiles, step, flank, ())
    n_contigs = len(genome_store.contig_names)
    kind = "tiles" if tiles else "gene windows"
    click.echo(f"1/5 genome   {store}: {n_contigs} contig{'s' if n_contigs != 1 else ''}; {windows.sizes['windows']:,} {kind} "
               f"({windows.attrs['layout']} layout)")
    run_path = output / "attribution.zarr"
    with dask_client(scheduler, n_workers=workers) as client:
        run = run_windows(genome_store, windows, model, run_path, method=method, client=client, references=references,
                          seed=seed, device=device)
    contributions_path = output / "contributions.bw"
    contribution_bigwig(run, contributions_path)
    click.echo(f"2/5 attribute {run_path} ({method}); {contributions_path}")
    seqlets = call_seqlets(run_path, target_fdr=fdr, max_passing=max_passing)
    with atomic_output(output / "seqlets.zarr") as partial, quiet_zarr_string_warnings():
        seqlets.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    seqlets_bed(seqlets, output / "seqlets.bed")
    click.echo(f"3/5 seqlets  {seqlets.sizes['seqlets']:,} at FDR {fdr:g}; {output / 'seqlets.bed'}")
    patterns = matches = None
    if discover:
        from .discover import pattern_match_labels, run_discovery

        found = run_discovery(run_path, output / "patterns", databases=(motifs,), fdr=fdr,
                              max_seqlets=max_seqlets, leiden_runs=leiden_runs)
        patterns, matches = found.members, pattern_match_labels(found)
        click.echo(f"    patterns {len(found.patterns.positive)} positive, {len(found.patterns.negative)} negative; "
                   f"{output / 'patterns'}")
    hits = _motif_hits(genome_store, seqlets, motifs, pvalue, motif_scan, output / "motif_hits.zarr", workers)
    where = "around the seqlets" if motif_scan == "seqlets" else "on the contigs with seqlets"
    click.echo(f"4/5 motifs   {hits.sizes['hits']:,} hits of {hits.sizes['motifs']} motifs ({motifs}) at p <= {pvalue:g}, {where}")
    genes = _gene_table(gene_windows(genome_store, gff, layout="promoter", contig_edges="pad") if tiles else windows)
    cres = cre_map(seqlets, hits, genes, patterns=patterns, pattern_matches=matches)
    with atomic_output(output / "cres.zarr") as partial, quiet_zarr_string_warnings():
        cres.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    cres_bed(cres, output / "cres.bed")
    cre_table(cres).to_csv(output / "cres.tsv", sep="\t", index=False, float_format="%.6g")
    per_gene, ranking = summaries(cres)
    per_gene.to_csv(output / "cres_per_gene.tsv", sep="\t", index=False)
    ranking.to_csv(output / "motif_ranking.tsv", sep="\t", index=False, float_format="%.6g")
    named = int((cres.cre_motif_id.values != "").sum())
    regions = {r: int((cres.cre_region.values == r).sum()) for r in ("promoter", "terminator", "genic", "distal")}
    click.echo(f"5/5 CRE map  {cres.sizes['cres']:,} CREs, {named:,} with a motif hit; "
               + ", ".join(f"{k} {v:,}" for k, v in regions.items()) + f"; {output / 'cres.bed'}, {output / 'cres.tsv'}")
    if len(ranking):
        top = ", ".join(f"{n} ({m})" for m, n in zip(ranking.motif_id[:5], ranking.motif_name[:5]))
        click.echo(f"top motifs   {top}")


def _motif_hits(genome, seqlets, motifs, pvalue, motif_scan, path, workers):
    """Hits around the seqlets (stored at ``path``), or a genome scan of the contigs with seqlets."""
    from scanner.cres.seqlet_scan import scan_seqlets
    from scanner.genome.store_format import quiet_zarr_string_warnings
    from scanner.motifs import scan
    from scanner.storage import atomic_output

    if motif_scan == "genome":
        contigs = sorted({str(genome.contig_names[i]) for i in seqlets.seqlet_contig.values}) or None
        return scan(genome, motifs, pvalue=pvalue, contigs=contigs, output=path, workers=workers)
    if motif_scan != "seqlets":
        raise ValueError(f"motif_scan must be 'seqlets' or 'genome', not {motif_scan!r}")
    hits = scan_seqlets(genome, seqlets, motifs, pvalue=pvalue)
    with atomic_output(path) as partial, quiet_zarr_string_warnings():
        hits.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    return hits


def _gene_table(windows):
    import pandas as pd

    return pd.DataFrame({
        "contig_index": windows.window_contig.values,
        "start": windows.window_gene_start.values,
        "end": windows.window_gene_end.values,
        "strand": windows.window_strand.values,
        "gene_id": windows.window_gene_id.values,
    })
