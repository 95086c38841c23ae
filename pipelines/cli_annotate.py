"""``scanner annotate``: the main job, with flags or a YAML config file."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _scheduler_options


def _load_config(ctx: click.Context, config: Path) -> None:
    """Fill the options not given on the command line from a YAML file, with the same checks."""
    import yaml

    try:
        values = yaml.safe_load(config.read_text()) or {}
    except yaml.YAMLError as error:
        raise click.BadParameter(f"{config}: not valid YAML ({error})", param_hint="--config") from None
    if not isinstance(values, dict):
        raise click.BadParameter(f"{config}: expected a mapping of option names to values", param_hint="--config")
    params = {p.name: p for p in ctx.command.params if p.name != "config"}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise click.BadParameter(f"{config}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(params))}",
                                 param_hint="--config")
    for name, value in values.items():
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            continue
        try:
            ctx.params[name] = params[name].type_cast_value(ctx, value)
        except click.BadParameter as error:
            raise click.BadParameter(f"{config}: key '{name}': {error.message}", param_hint="--config") from None


@click.command("annotate")
@click.option("--genome", type=click.Path(exists=True, path_type=Path), default=None, help="FASTA (plain, gzip, bgzip) or a genome store.")
@click.option("--gff", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3 annotation.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help=".model file or user card.")
@click.option("--motifs", default="jaspar2024:plants", show_default=True, help="Motif file or database spec.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None, help="Output folder.")
@click.option("--method", type=click.Choice(["gradient", "deeplift-shap", "integrated-gradients", "ism"]), default="gradient",
              show_default=True, help="Attribution method.")
@click.option("--references", default=20, show_default=True, help="References per window (deeplift-shap).")
@click.option("--seed", default=0, show_default=True)
@click.option("--fdr", default=0.2, show_default=True, help="Seqlet FDR.")
@click.option("--max-passing", default=0.2, show_default=True, help="At most this fraction of windows pass the seqlet threshold.")
@click.option("--pvalue", default=1e-4, show_default=True, help="Motif hit p-value threshold.")
@click.option("--motif-scan", type=click.Choice(["seqlets", "genome"]), default="seqlets", show_default=True,
              help="Scan motifs around the seqlets only, or over the whole of every contig with seqlets.")
@click.option("--discover/--no-discover", default=False, show_default=True,
              help="Also discover patterns (modisco-lite, the 'discover' extra) and give each CRE its pattern.")
@click.option("--max-seqlets", default=2000, show_default=True, help="Seqlets per sign clustered into patterns (--discover).")
@click.option("--leiden-runs", default=8, show_default=True, help="Leiden clustering restarts (--discover).")
@click.option("--tiles", is_flag=True, help="Attribute tiles over the whole genome instead of gene windows (a tiles/regions model).")
@click.option("--step", type=int, default=None, help="Tile step (default: half the model's input length).")
@click.option("--flank", type=int, default=None, help="Tile flank (default: a quarter of the input length).")
@click.option("--device", default="auto", show_default=True)
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML file with any of these options (command-line flags win).")
@_scheduler_options
@click.pass_context
def annotate(ctx, config, **options):
    """Ingest, attribute every gene window (or tiles), call seqlets, scan motifs, and write the CRE map."""
    from .annotate import run_annotate

    if config is not None:
        _load_config(ctx, config)
        options = {k: v for k, v in ctx.params.items() if k != "config"}
    missing = [name for name in ("genome", "gff", "model", "output") if options.get(name) is None]
    if missing:
        raise click.UsageError(f"missing {', '.join('--' + m for m in missing)} (on the command line or in --config)")
    for name in ("genome", "gff", "model"):
        if not Path(options[name]).exists():
            raise click.BadParameter(f"{options[name]} does not exist", param_hint=f"--{name}")
    run_annotate(**options)
