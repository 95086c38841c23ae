"""``scanner seqlets``: seqlets from an attribution run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("seqlets")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["tfmodisco", "recursive"]), default="tfmodisco", show_default=True,
              help="tfmodisco: TF-MoDISco's windowed sums, Laplace null and FDR threshold, greedy extraction. "
                   "recursive: tangermeme's recursive p-value method (positive seqlets only).")
@click.option("--fdr", "target_fdr", default=0.2, show_default=True, help="Target false discovery rate of passing windows.")
@click.option("--window", default=21, show_default=True, help="Core length of a seqlet.")
@click.option("--flank", default=10, show_default=True, help="Bases added on each side of the core.")
@click.option("--min-passing", default=0.0001, show_default=True, help="At least this fraction of windows pass.")
@click.option("--max-passing", default=0.2, show_default=True, help="At most this fraction of windows pass.")
@click.option("--threshold", default=0.01, show_default=True,
              help="recursive: p-value every span of at least --min-seqlet-len bases inside a seqlet must be below.")
@click.option("--min-seqlet-len", default=4, show_default=True, help="recursive: shortest seqlet.")
@click.option("--max-seqlet-len", default=25, show_default=True, help="recursive: longest seqlet.")
@click.option("--additional-flanks", default=0, show_default=True,
              help="recursive: bases added on each side of a called seqlet.")
@click.option("--n-bins", default=1000, show_default=True, help="recursive: bins of the per-base null.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="BED6 of the seqlets.")
@click.option("--zarr", type=click.Path(path_type=Path), default=None, help="Also store the seqlets dataset here.")
def seqlets(run, method, target_fdr, window, flank, min_passing, max_passing, threshold, min_seqlet_len,
            max_seqlet_len, additional_flanks, n_bins, output, zarr):
    """Call seqlets (high-contribution stretches) in an attribution run."""
    from scanner.genome.store_format import quiet_zarr_string_warnings
    from scanner.seqlets.calling import call_seqlets, to_bed
    from scanner.storage import atomic_output

    table = call_seqlets(run, method=method, window=window, flank=flank, target_fdr=target_fdr,
                         min_passing=min_passing, max_passing=max_passing, threshold=threshold,
                         min_seqlet_len=min_seqlet_len, max_seqlet_len=max_seqlet_len,
                         additional_flanks=additional_flanks, n_bins=n_bins)
    to_bed(table, output)
    if zarr:
        with atomic_output(zarr) as partial, quiet_zarr_string_warnings():
            table.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    positive = int((table.seqlet_sign.values > 0).sum())
    if method == "recursive":
        cutoff = f"at p < {threshold:g} (lengths {min_seqlet_len}-{max_seqlet_len})"
    else:
        cutoff = f"at thresholds {table.attrs['threshold_positive']:.3g} / {table.attrs['threshold_negative']:.3g}"
    click.echo(f"{table.sizes['seqlets']:,} seqlets ({positive:,} positive, {table.sizes['seqlets'] - positive:,} negative) "
               f"{cutoff}; bed {output}" + (f"; zarr {zarr}" if zarr else ""))
