"""``scanner seqlets``: seqlets from an attribution run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("seqlets")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["tfmodisco"]), default="tfmodisco", show_default=True,
              help="TF-MoDISco's windowed sums, Laplace null and FDR threshold, greedy extraction.")
@click.option("--fdr", "target_fdr", default=0.2, show_default=True, help="Target false discovery rate of passing windows.")
@click.option("--window", default=21, show_default=True, help="Core length of a seqlet.")
@click.option("--flank", default=10, show_default=True, help="Bases added on each side of the core.")
@click.option("--min-passing", default=0.0001, show_default=True, help="At least this fraction of windows pass.")
@click.option("--max-passing", default=0.2, show_default=True, help="At most this fraction of windows pass.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="BED6 of the seqlets.")
@click.option("--zarr", type=click.Path(path_type=Path), default=None, help="Also store the seqlets dataset here.")
def seqlets(run, method, target_fdr, window, flank, min_passing, max_passing, output, zarr):
    """Call seqlets (high-contribution stretches) in an attribution run."""
    from scanner.genome.store_format import quiet_zarr_string_warnings
    from scanner.seqlets.calling import call_seqlets, to_bed
    from scanner.storage import atomic_output

    table = call_seqlets(run, window=window, flank=flank, target_fdr=target_fdr, min_passing=min_passing,
                         max_passing=max_passing)
    to_bed(table, output)
    if zarr:
        with atomic_output(zarr) as partial, quiet_zarr_string_warnings():
            table.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    positive = int((table.seqlet_sign.values > 0).sum())
    click.echo(f"{table.sizes['seqlets']:,} seqlets ({positive:,} positive, {table.sizes['seqlets'] - positive:,} negative) "
               f"at thresholds {table.attrs['threshold_positive']:.3g} / {table.attrs['threshold_negative']:.3g}; "
               f"bed {output}" + (f"; zarr {zarr}" if zarr else ""))
