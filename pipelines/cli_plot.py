"""``scanner plot region``: a contribution logo of any region of a run."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _Group


@click.group(cls=_Group)
def plot() -> None:
    """Pictures: contribution logos of regions."""


@plot.command("region")
@click.argument("region")
@click.option("--run", "run_path", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="An attribution run.")
@click.option("--hypothetical", is_flag=True, help="Plot hypothetical contributions (all four bases) instead of the actual ones.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG or SVG (by suffix).")
def plot_region(region, run_path, hypothetical, output):
    """Contribution logo of REGION (CONTIG:START-END, 1-based inclusive) from the run's windows."""
    from scanner.cres.logos import contribution_logo, region_contributions
    from scanner.inference.run import open_run
    from scanner.models.labels import parse_region

    run = open_run(run_path)
    lengths = {str(c): int(n) for c, n in zip(run.contig_id.values, run.contig_length.values)}
    where = parse_region(region, lengths)
    if where.end - where.start > 1000:
        raise click.BadParameter(f"{region} is {where.end - where.start:,} bases; a logo holds at most 1,000", param_hint="REGION")
    values = region_contributions(run, where.contig, where.start, where.end, hypothetical=hypothetical)
    contribution_logo(values, output, start=where.start + 1, title=f"{where} ({'hypothetical' if hypothetical else 'actual'})")
    click.echo(f"{output}: {where.end - where.start} bases of {where.contig}")
