"""``scanner discover``: TF-MoDISco patterns of a run, matched to a motif database."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("discover")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the patterns.")
@click.option("--db", "databases", multiple=True, default=("jaspar2024:plants",), show_default=True, help="Motifs to match the patterns to.")
@click.option("--fdr", default=0.2, show_default=True)
@click.option("--max-seqlets", default=2000, show_default=True, help="Seqlets per sign used for clustering.")
@click.option("--leiden-runs", default=8, show_default=True)
def discover(run, output, databases, fdr, max_seqlets, leiden_runs):
    """Discover motifs (modisco-lite), match them to JASPAR by TOMTOM's method, draw their logos."""
    from .discover import run_discovery

    found = run_discovery(run, output, databases=databases, fdr=fdr, max_seqlets=max_seqlets, leiden_runs=leiden_runs)
    click.echo(f"{len(found.patterns.positive)} positive and {len(found.patterns.negative)} negative patterns; "
               f"{output / 'patterns.h5'} (modisco-lite layout), {output / 'patterns.meme'}, "
               f"{output / 'pattern_seqlets.tsv'}")
    for row in found.best_matches:
        click.echo(f"  {row['Query_ID']}: best match {row['Target_ID']} {found.names.get(row['Target_ID'], '')} "
                   f"(q = {row['q-value']:.2g})")
