"""The ``scanner`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from .progress import byte_progress

log = logging.getLogger("scanner.cli")

EXPECTED_ERRORS = (ValueError, KeyError, FileNotFoundError, FileExistsError, NotADirectoryError, ImportError)


class _Group(click.Group):
    """Turns the engine's expected errors into one clear line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            raise click.ClickException(str(message)) from err


def _scheduler_options(func):
    func = click.option(
        "--scheduler", default=None, help="Address (tcp://host:8786) or scheduler file (.json) of a running Dask cluster; default: start a local one."
    )(func)
    func = click.option("--workers", type=int, default=None, help="Local worker processes (default: one per core).")(func)
    return func


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="cre-scanner")
def main(verbose: int) -> None:
    """cre-scanner: scan plant genomes with deep-learning models on Dask."""
    level = logging.WARNING - 10 * min(verbose + 1, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Dask configures its own loggers when imported, in this process and in every
    # worker: the environment reaches both. Its INFO lines drown ours, so only -vv shows them.
    if verbose < 2:
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    for noisy in ("numba", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.group(cls=_Group)
def genome() -> None:
    """The Zarr genome store: ingest a FASTA, describe a store."""


@genome.command("ingest")
@click.argument("fasta", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Genome store to write (.zarr).")
@click.option("--chunk-size", default=1_000_000, show_default=True, help="Bases per Zarr chunk.")
@click.option(
    "--scheduler",
    default=None,
    help="Dask cluster (address or scheduler file) to read a plain FASTA with a .fai in parallel chunks.",
)
def genome_ingest(fasta: Path, output: Path, chunk_size: int, scheduler: str | None) -> None:
    """Ingest FASTA (plain, gzip or bgzip) into a Zarr genome store.

    On one machine the file is read in one streaming pass. With --scheduler, a
    plain-text FASTA indexed by `samtools faidx` is read in parallel chunk tasks
    on the cluster (the paths must be on a shared filesystem).
    """
    from contextlib import nullcontext

    from scanner.cluster import dask_client
    from scanner.genome.ingest import ingest_fasta

    with dask_client(scheduler) if scheduler else nullcontext() as client:
        with byte_progress(fasta.stat().st_size, f"ingest {fasta.name}") as update:
            ingest_fasta(
                fasta,
                output,
                chunk_size=chunk_size,
                client=client,
                on_progress=update,
            )
    _print_genome_info(output)


def _genome_table(store: Path):
    import pandas as pd

    from scanner.genome.store import open_genome

    genome_store = open_genome(store)
    c = genome_store.contigs
    length = c.contig_length.values
    table = pd.DataFrame(
        {
            "contig": c.contig_id.values.astype(str),
            "length": length,
            "n_fraction": (c.contig_n_count.values / length).round(6),
            "soft_masked_fraction": (c.contig_soft_masked_count.values / length).round(6),
            "ambiguous_to_n": c.contig_ambiguous_count.values,
        }
    )
    return genome_store, table


def _print_genome_info(store: Path) -> None:
    genome_store, table = _genome_table(store)
    attrs = genome_store.attrs
    click.echo(f"genome store  {store}")
    click.echo(f"source        {attrs['source']}")
    click.echo(f"sha256        {attrs['source_sha256']}")
    total = int(table.length.sum())
    click.echo(
        f"contigs       {len(table)}, {total:,} bases, "
        f"N {table.n_fraction.mul(table.length).sum() / total:.4%}, "
        f"soft-masked {table.soft_masked_fraction.mul(table.length).sum() / total:.4%}, "
        f"IUPAC codes stored as N: {int(table.ambiguous_to_n.sum())}"
    )
    click.echo(table.to_string(index=False))


@genome.command("info")
@click.argument("store", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the contig table as JSON.")
def genome_info(store: Path, as_json: bool) -> None:
    """Contigs, lengths, N and soft-masked fractions of a genome store."""
    if as_json:
        genome_store, table = _genome_table(store)
        click.echo(json.dumps({"store": str(store), **genome_store.attrs, "contigs": table.to_dict("records")}, default=int))
    else:
        _print_genome_info(store)


@main.group(cls=_Group)
def windows() -> None:
    """Windows over the genome: around genes (GFF3) or tiled along contigs."""


@windows.command("genes")
@click.argument("store", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--gff", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="GFF3 annotation (plain or gzip).")
@click.option("--layout", type=click.Choice(["deepcre", "promoter"]), default="deepcre", show_default=True)
@click.option("--upstream", type=int, default=None, help="Bases outside the gene at each anchor [1000].")
@click.option("--downstream", type=int, default=None, help="Bases inside the gene at each anchor [500].")
@click.option("--short-genes", type=click.Choice(["pad", "drop", "overlap"]), default="pad", show_default=True, help="Genes shorter than 2 x downstream (deepcre layout).")
@click.option("--contig-edges", type=click.Choice(["drop", "pad"]), default="drop", show_default=True, help="Windows running off a contig end.")
@click.option("--feature-type", default="gene", show_default=True, help="GFF3 column 3 value of genes.")
@click.option("--biotype", default="protein_coding", show_default=True, help="Keep genes of this biotype; 'any' keeps all.")
@click.option("--alias-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Contig name aliases: names of one contig on each line.")
@click.option("--sequences/--no-sequences", default=True, show_default=True, help="Also store each window's bases (window_sequence).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Windows dataset to write (.zarr).")
@_scheduler_options
def windows_genes(store, gff, layout, upstream, downstream, short_genes, contig_edges, feature_type, biotype, alias_file, sequences, output, scheduler, workers):
    """One window per gene, in transcript orientation."""
    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.tiling.genes import gene_windows

    from .windows_job import write_windows

    genome_store = open_genome(store)
    wins = gene_windows(
        genome_store,
        gff,
        layout=layout,
        upstream=upstream,
        downstream=downstream,
        short_genes=short_genes,
        contig_edges=contig_edges,
        feature_type=feature_type,
        biotype=None if biotype == "any" else biotype,
        alias_file=alias_file,
    )
    with dask_client(scheduler, n_workers=workers) as client:
        write_windows(genome_store, wins, output, client=client, sequences=sequences)
    _print_window_summary(wins, output)


def _print_window_summary(wins, output: Path) -> None:
    click.echo(f"windows       {output}: {wins.sizes['windows']:,} windows of {wins.attrs['window_length']:,} bases ({wins.attrs['layout']})")
    for key, value in wins.attrs.items():
        if key.startswith(("genes_", "windows_")):
            click.echo(f"  {key:<30} {value:,}")


@windows.command("tiles")
@click.argument("store", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--length", required=True, type=int, help="Window length (model input) in bases.")
@click.option("--step", required=True, type=int, help="Distance between window starts.")
@click.option("--flank", default=0, show_default=True, help="Context bases each base needs on both sides.")
@click.option("--contig", "contigs", multiple=True, help="Contig to tile (repeatable; default all).")
@click.option("--sequences/--no-sequences", default=False, show_default=True, help="Also store each window's bases.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Windows dataset to write (.zarr).")
@_scheduler_options
def windows_tiles(store, length, step, flank, contigs, sequences, output, scheduler, workers):
    """Fixed-length windows at a fixed step along contigs."""
    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.tiling.tiles import tile_windows

    from .windows_job import write_windows

    genome_store = open_genome(store)
    wins = tile_windows(genome_store, length=length, step=step, flank=flank, contigs=list(contigs) or None)
    with dask_client(scheduler, n_workers=workers) as client:
        write_windows(genome_store, wins, output, client=client, sequences=sequences)
    _print_window_summary(wins, output)


@main.command("demo")
@click.option("-o", "--output", default="demo_out", show_default=True, type=click.Path(path_type=Path), help="Directory for the demo's outputs.")
@_scheduler_options
def demo(output: Path, scheduler, workers) -> None:
    """Run the main job on the embedded demo data (2 Mb of A. thaliana chr1)."""
    from .demo import run_demo

    run_demo(output, scheduler=scheduler, workers=workers)


@main.group(cls=_Group)
def motifs() -> None:
    """Motif files and JASPAR; genome-wide motif scans with FIMO's p-values."""


@motifs.command("list")
@click.argument("source")
def motifs_list(source: str) -> None:
    """IDs, names, widths and information content of a motif file or database (jaspar2024:plants)."""
    from scanner.motifs.readers import read

    click.echo("motif_id\tname\twidth\tinformation_bits\tsites")
    for motif in read(source):
        click.echo(f"{motif.motif_id}\t{motif.name}\t{motif.width}\t{motif.information_content():.2f}\t{motif.n_sites:g}")


@motifs.command("scan")
@click.argument("store", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--motifs", "sources", required=True, multiple=True, help="Motif file (MEME, JASPAR, .pfm, HOMER) or database spec such as jaspar2024:plants; repeatable.")
@click.option("--pvalue", default=1e-4, show_default=True, help="Report windows with p-value <= this.")
@click.option("--background", default="uniform", show_default=True, help="uniform, genome (store composition), nrdb (MEME's default) or a background file.")
@click.option("--pseudocount", default=0.1, show_default=True, help="Pseudocount added to motif frequencies, as FIMO's --motif-pseudo.")
@click.option("--single-strand", is_flag=True, help="Scan the given strand only (FIMO's --norc).")
@click.option("--contig", "contigs", multiple=True, help="Contig to scan (repeatable; default all).")
@click.option("--chunk-size", type=int, default=None, help="Bases per task (default: the store's chunk size).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Hits dataset to write (.zarr).")
@click.option("--tsv", type=click.Path(path_type=Path), default=None, help="Also write FIMO's TSV layout here.")
@click.option("--bed", type=click.Path(path_type=Path), default=None, help="Also write BED6 here.")
@click.option("--bigwig", type=click.Path(path_type=Path), default=None, help="Also write the per-base track (best -log10 p covering each base) here.")
@click.option("--workers", type=int, default=None, help="Threads (default: one per core).")
@click.option("--scheduler", default=None, help="Run the chunk tasks on this Dask cluster (address or scheduler file).")
def motifs_scan(store, sources, pvalue, background, pseudocount, single_strand, contigs, chunk_size, output, tsv, bed, bigwig, workers, scheduler):
    """Scan a genome store for motifs (all motifs, both strands, one pass per chunk)."""
    from contextlib import nullcontext

    from tqdm import tqdm

    from scanner.cluster import dask_client
    from scanner.genome.store import open_genome
    from scanner.motifs.export import to_bed, to_bigwig, to_fimo_tsv
    from scanner.motifs.readers import read
    from scanner.motifs.scanning import scan

    from .progress import show_progress

    if output is None and tsv is None and bed is None and bigwig is None:
        raise click.UsageError("give at least one of -o/--output, --tsv, --bed, --bigwig")
    genome_store = open_genome(store)
    motif_list = [m for source in sources for m in read(source)]
    with dask_client(scheduler) if scheduler else nullcontext() as client, tqdm(
        desc="scan chunks", unit="chunk", disable=not show_progress(), file=sys.stderr
    ) as bar:

        def update(done, total):
            bar.total = total
            bar.update(done - bar.n)

        hits = scan(
            genome_store,
            motif_list,
            pvalue=pvalue,
            background=background,
            pseudocount=pseudocount,
            both_strands=not single_strand,
            contigs=list(contigs) or None,
            chunk_size=chunk_size,
            output=output,
            client=client,
            workers=workers,
            on_progress=update,
        )
    if tsv:
        to_fimo_tsv(hits, tsv, genome=genome_store)
    if bed:
        to_bed(hits, bed)
    if bigwig:
        to_bigwig(hits, bigwig)
    click.echo(
        f"{hits.sizes['hits']:,} hits of {len(motif_list)} motifs at p <= {pvalue:g}"
        + "".join(
            f"; {label} {path}" for label, path in (("zarr", output), ("tsv", tsv), ("bed", bed), ("bigwig", bigwig)) if path
        )
    )


@motifs.command("compare")
@click.argument("query")
@click.option("--db", "databases", required=True, multiple=True, help="Target motifs: file or database spec (jaspar2024:plants); repeatable.")
@click.option("--dist", "distance", type=click.Choice(["ed", "pearson", "sandelin"]), default="ed", show_default=True, help="Column similarity (TOMTOM's -dist).")
@click.option("--thresh", "threshold", default=0.5, show_default=True, help="Report matches with q-value (or E-value with --evalue) <= this.")
@click.option("--evalue", is_flag=True, help="Apply --thresh to E-values instead of q-values.")
@click.option("--single-strand", is_flag=True, help="Do not compare with the targets' reverse complements (TOMTOM's -norc).")
@click.option("--tsv", type=click.Path(path_type=Path), default=None, help="Write TOMTOM's TSV layout here (default: standard output).")
def motifs_compare(query, databases, distance, threshold, evalue, single_strand, tsv):
    """Compare query motifs with a motif database by TOMTOM's method."""
    from scanner.motifs.compare import compare_motifs, write_tomtom_tsv
    from scanner.motifs.readers import read

    table = compare_motifs(
        read(query),
        [m for db in databases for m in read(db)],
        distance=distance,
        threshold=threshold,
        evalue=evalue,
        both_strands=not single_strand,
    )
    if tsv:
        write_tomtom_tsv(table, tsv)
        click.echo(f"{len(table)} matches; {tsv}", err=True)
    else:
        click.echo(table.to_csv(sep="\t", index=False, float_format="%g"), nl=False)


#: Commands defined in modules of their own: module -> the command objects it holds.
_COMMAND_MODULES = {
    "cli_models": ("train", "model", "evaluate"),
    "cli_inference": ("predict", "attribute"),
    "cli_seqlets": ("seqlets",),
    "cli_annotate": ("annotate",),
    "cli_discover": ("discover",),
    "cli_plot": ("plot",),
    "cli_variants": ("variants",),
}


def _add_commands() -> None:
    from importlib import import_module

    for module_name, names in _COMMAND_MODULES.items():
        module = import_module(f"{__package__}.{module_name}")
        for name in names:
            main.add_command(getattr(module, name))


_add_commands()
