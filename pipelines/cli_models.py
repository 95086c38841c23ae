"""``scanner train``, ``scanner model`` and ``scanner evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli import _Group

_ARCHES = ["deepcre", "deepplantcre", "argminn", "regioncnn"]


def _fit_options(func):
    options = [
        click.option("--arch", "architecture", type=click.Choice(_ARCHES), default="deepcre", show_default=True, help="Architecture."),
        click.option("--hyper", "hyper", multiple=True, help="Architecture hyper-parameter KEY=VALUE (JSON value), repeatable."),
        click.option("--folds", type=click.Choice(["by-chromosome"]), default=None, help="One model per held-out contig."),
        click.option("--holdout", multiple=True, help="Region held out for validation (CONTIG or CONTIG:START-END, 1-based); repeatable."),
        click.option("--epochs", default=30, show_default=True),
        click.option("--batch-size", default=64, show_default=True),
        click.option("--learning-rate", default=1e-4, show_default=True),
        click.option("--patience", default=5, show_default=True, help="Epochs without a better validation loss before stopping."),
        click.option("--seed", default=0, show_default=True),
        click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads torch trains with, e.g. on a node shared with other jobs [one per core this process may use]."),
        click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the models and tables."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _hyperparameters(pairs) -> dict:
    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--hyper")
        try:
            values[key] = json.loads(text)
        except json.JSONDecodeError:
            values[key] = text
    return values


def _folds(data, folds, holdout, genome):
    from scanner.models.recipes import make_folds

    if folds and holdout:
        raise click.UsageError("give --folds or --holdout, not both")
    lengths = dict(zip(genome.contig_names, genome.contigs.contig_length.values.tolist()))
    return make_folds(data, folds=folds, holdout=list(holdout), contig_lengths=lengths)


@click.group(cls=_Group)
def train() -> None:
    """Train models from a genome store: expression (gene windows) or regions (positives vs background)."""


@train.command("expression")
@click.option("--genome", "store", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--gff", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--expression", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Table: gene id, value (e.g. max log TPM).")
@click.option("--value-column", default=None, help="Value column of the expression table, if it has several.")
@click.option("--task", type=click.Choice(["classification", "regression"]), default="classification", show_default=True,
              help="classification: lowest quartile 0, highest 1 (DeepCRE); regression: the value itself.")
@click.option("--layout", type=click.Choice(["deepcre", "promoter"]), default="deepcre", show_default=True)
@click.option("--keep-out-of-validation", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File of gene ids (one per line) left out of every validation set.")
@_fit_options
def train_expression(store, gff, expression, value_column, task, layout, keep_out_of_validation, architecture, hyper,
                     folds, holdout, epochs, batch_size, learning_rate, patience, seed, device, threads, output):
    """Gene-centric expression models, DeepCRE's recipe (balanced classes, leave-one-chromosome-out)."""
    from scanner.genome.store import open_genome
    from scanner.models.labels import read_expression
    from scanner.models.recipes import expression_set, window_layout
    from scanner.tiling.genes import gene_windows

    from .train_job import echo_counts, file_checksum, print_metrics, run_training, settings_from_options

    genome = open_genome(store)
    windows = gene_windows(genome, gff, layout=layout)
    data, counts = expression_set(genome, windows, read_expression(expression, value_column=value_column), task=task)
    echo_counts(counts)
    keep_out = None
    if keep_out_of_validation:
        keep_out = {line.strip() for line in keep_out_of_validation.read_text().splitlines() if line.strip()}
    settings = settings_from_options(epochs, batch_size, learning_rate, patience, seed, device, False, threads)
    table = run_training(
        data, _folds(data, folds, holdout, genome), output, architecture=architecture, hyperparameters=_hyperparameters(hyper),
        task=task, window_layout=window_layout(windows), settings=settings, balance=task == "classification",
        keep_out=keep_out, training_info={"recipe": "expression", "genome_sha256": genome.attrs.get("source_sha256"),
                                          "gff": str(gff), "gff_sha256": file_checksum(gff), "expression": str(expression),
                                          "expression_sha256": file_checksum(expression), **counts},
    )
    print_metrics(table, output)


@train.command("regions")
@click.option("--genome", "store", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--positives", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="BED of positive regions (windows centred on each).")
@click.option("--genes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3: gene windows are the positives instead.")
@click.option("--layout", type=click.Choice(["deepcre", "promoter"]), default="deepcre", show_default=True, help="Gene window layout (with --genes).")
@click.option("--length", type=int, default=None, help="Window length for BED positives (default: the architecture's).")
@click.option("--negatives", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="BED of negative regions (windows centred on each, with --positives) in place of drawn background.")
@click.option("--ratio", type=float, default=None, help="Background windows per positive [1.0].")
@click.option("--rc-augment/--no-rc-augment", default=True, show_default=True, help="Reverse-complement augmentation; the card then averages both strands.")
@_fit_options
def train_regions(store, positives, genes, negatives, layout, length, ratio, rc_augment, architecture, hyper, folds, holdout,
                  epochs, batch_size, learning_rate, patience, seed, device, threads, output):
    """Region classifiers: positives (BED or gene windows) against GC-matched background of the same genome,
    or against given negatives (BED)."""
    import inspect

    from scanner.genome.store import open_genome
    from scanner.models.architectures import ARCHITECTURES
    from scanner.models.recipes import region_set, window_layout
    from scanner.tiling.genes import gene_windows
    from scanner.tiling.regions import read_bed, region_windows

    from .train_job import echo_counts, file_checksum, print_metrics, run_training, settings_from_options

    if (positives is None) == (genes is None):
        raise click.UsageError("give exactly one of --positives (BED) or --genes (GFF3)")
    if negatives is not None and positives is None:
        raise click.UsageError("--negatives needs --positives (BED): gene windows are matched by drawn background")
    if negatives is not None and ratio is not None:
        raise click.UsageError("give --negatives or --ratio, not both: --ratio sizes the drawn background")
    genome = open_genome(store)
    hyperparameters = _hyperparameters(hyper)
    if positives is not None:
        if length is None:
            length = hyperparameters.get("input_length") or inspect.signature(ARCHITECTURES[architecture]).parameters["input_length"].default
        windows = region_windows(genome, read_bed(positives), length=int(length))
    else:
        windows = gene_windows(genome, genes, layout=layout)
    negative_windows = None
    if negatives is not None:
        negative_windows = region_windows(genome, read_bed(negatives), length=int(length))
    data, counts = region_set(genome, windows, ratio=1.0 if ratio is None else ratio, seed=seed,
                              negatives=negative_windows)
    echo_counts(counts)
    settings = settings_from_options(epochs, batch_size, learning_rate, patience, seed, device, rc_augment, threads)
    source = positives or genes
    table = run_training(
        data, _folds(data, folds, holdout, genome), output, architecture=architecture, hyperparameters=hyperparameters,
        task="classification", window_layout=window_layout(windows), settings=settings, balance=False, keep_out=None,
        training_info={"recipe": "regions", "genome_sha256": genome.attrs.get("source_sha256"), "positives_path": str(source),
                       "positives_sha256": file_checksum(source),
                       **({"negatives_path": str(negatives), "negatives_sha256": file_checksum(negatives)} if negatives else {}),
                       **counts},
    )
    print_metrics(table, output)


@click.group(cls=_Group)
def model() -> None:
    """Model files: show a card, read motifs out of an ARGMINN-style model, write a user model card."""


@model.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole card as JSON.")
def model_info(path, as_json):
    """Show a model card: architecture, input length, layout, targets, training, metrics."""
    from scanner.models.model_file import load_model

    loaded = load_model(path)
    card = loaded.card
    if as_json:
        click.echo(card.to_json())
        return
    parameters = sum(p.numel() for p in loaded.module.parameters())
    layout = ", ".join(f"{k}={v}" for k, v in card.window_layout.items() if k != "masked_positions")
    lines = [
        ("model", str(path)),
        ("architecture", f"{card.architecture} ({parameters:,} parameters)"),
        ("input", f"{card.input_length} bases, alphabet {card.alphabet}, layout {card.input_layout}"),
        ("windows", layout),
        ("targets", f"{', '.join(card.targets)} ({card.task})"),
        ("strand", card.strand),
        ("receptive field", str(card.receptive_field)),
    ]
    training = card.training
    if training:
        lines += [
            ("recipe", str(training.get("recipe", "?"))),
            ("held out", ", ".join(training.get("heldout_regions", [])) or "-"),
            ("training windows", f"{training.get('windows_train', '?')} (validation {training.get('windows_validation', '?')})"),
            ("epochs", f"{training.get('epochs_run', '?')} run, best {training.get('best_epoch', '?')}"),
            ("data sha256", str(training.get("data_sha256", "?"))),
        ]
    for name, value in card.metrics.get("validation", {}).items():
        lines.append((f"validation {name}", f"{value:.4f}" if isinstance(value, float) else str(value)))
    if card.readout.get("motifs"):
        lines.append(("read-out motifs", str(len(card.readout["motifs"]))))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key:<{width}}  {value}")


@model.command("motifs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="MEME file of the filter motifs.")
@click.option("--genome", "store", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Read motifs from these sequences instead of the card's training read-out (with --positives or --genes).")
@click.option("--positives", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="BED of regions to read from.")
@click.option("--genes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3: gene windows to read from.")
@click.option("--hits", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the attended motif instances (TSV; needs --genome).")
def model_motifs(path, output, store, positives, genes, hits):
    """ARGMINN-style read-out: motifs from the filters (MEME) and instances from attention."""
    from scanner.models.model_file import load_model
    from scanner.models.readout import attention_instances, filter_motifs, motifs_from_card
    from scanner.motifs.writers import write_meme

    loaded = load_model(path)
    if loaded.card.architecture != "argminn":
        raise click.UsageError(f"{path} is a {loaded.card.architecture} model; motif read-out needs an argminn model")
    if store is None:
        if hits:
            raise click.UsageError("--hits needs --genome and --positives or --genes")
        found = motifs_from_card(loaded.card)
        if not found:
            raise click.UsageError(f"{path} holds no read-out motifs; give --genome with --positives or --genes")
    else:
        windows = _windows_for(loaded.card, store, positives, genes)
        from scanner.models.recipes import window_codes

        genome, table = windows
        codes = window_codes(genome, table)
        found = filter_motifs(loaded.module, codes)
        if hits:
            names = table.window_gene_id.values if "window_gene_id" in table else table.window_name.values
            instances = attention_instances(loaded.module, codes, names=names)
            instances.to_csv(hits, sep="\t", index=False, float_format="%.6g")
            click.echo(f"{len(instances):,} attended instances in {hits}")
    write_meme(found, output)
    click.echo(f"{len(found)} motifs in {output}")


def _windows_for(card, store, positives, genes):
    from scanner.genome.store import open_genome
    from scanner.tiling.genes import gene_windows_for_layout
    from scanner.tiling.regions import read_bed, region_windows

    if (positives is None) == (genes is None):
        raise click.UsageError("give exactly one of --positives (BED) or --genes (GFF3)")
    genome = open_genome(store)
    if positives is not None:
        windows = region_windows(genome, read_bed(positives), length=card.input_length)
    else:
        windows = gene_windows_for_layout(genome, genes, card.window_layout)
    card.check_windows(int(windows.attrs["window_length"]), windows.attrs.get("layout"))
    return genome, windows


@click.command("evaluate")
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--genome", "store", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--gff", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="GFF3 of the genome (expression models, or --genes for region models).")
@click.option("--expression", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Expression table (expression models).")
@click.option("--value-column", default=None)
@click.option("--positives", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="BED of positives (region models).")
@click.option("--seed", default=0, show_default=True, help="Seed of the background windows (region models).")
@click.option("--device", default="auto", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the metrics as TSV here.")
def evaluate(model_path, store, gff, expression, value_column, positives, seed, device, output):
    """Run a trained model on another genome or species and report its metrics."""
    import pandas as pd
    import torch

    from scanner.models.labels import read_expression
    from scanner.models.model_file import load_model
    from scanner.models.recipes import evaluate as evaluate_model, expression_set, region_set

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_model(model_path, device=device)
    if expression is not None:
        if gff is None:
            raise click.UsageError("--expression needs --gff")
        genome, windows = _windows_for(loaded.card, store, None, gff)
        data, counts = expression_set(genome, windows, read_expression(expression, value_column=value_column), task=loaded.card.task)
    else:
        genome, windows = _windows_for(loaded.card, store, positives, gff)
        data, counts = region_set(genome, windows, seed=seed)
    metrics = evaluate_model(loaded, data)
    table = pd.DataFrame([{"model": str(model_path), "genome": str(store), **metrics}])
    if output:
        table.to_csv(output, sep="\t", index=False, float_format="%.6g")
    click.echo(table.drop(columns=["model", "genome"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
