"""The training jobs: ``scanner train expression`` and ``scanner train regions``.

Each fold's model goes to ``<output>/<fold>.model`` as soon as it is trained, with
``metrics.tsv`` (one row per fold) and ``history.tsv`` (one row per epoch) beside
it. A fold whose model file already exists for the same data, architecture and
settings is not trained again, so a killed job resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
import pandas as pd

from scanner.models.card import ModelCardError
from scanner.models.model_file import read_card, save_model
from scanner.models.recipes import TrainedFold, train_folds
from scanner.models.training import FitSettings, TrainingSet

log = logging.getLogger(__name__)


def _epoch_line(fold: str, record: dict, epochs: int) -> None:
    metric = next((k for k in ("valid_auroc", "valid_pearson_r") if k in record), None)
    extra = f", {metric[6:]} {record[metric]:.3f}" if metric else ""
    click.echo(
        f"fold {fold} epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
        f"valid loss {record['valid_loss']:.4f}{extra}, lr {record['learning_rate']:.1e} ({record['seconds']:.0f} s)",
        err=True,
    )


def _same_run(path: Path, checksum: str, architecture: str, settings: FitSettings, hyperparameters: dict) -> bool:
    try:
        card = read_card(path)
    except (ModelCardError, FileNotFoundError, OSError):
        return False
    wanted = {k: v for k, v in asdict(settings).items() if k != "device"}
    done = {k: v for k, v in card.training.get("settings", {}).items() if k != "device"}
    same_hyper = all(card.hyperparameters.get(k) == v for k, v in hyperparameters.items())
    return card.training.get("data_sha256") == checksum and card.architecture == architecture and done == wanted and same_hyper


def _attach_readout(trained: TrainedFold, data: TrainingSet) -> None:
    from scanner.models.readout import filter_motifs, motifs_to_card

    positives = data.codes[data.labels[:, 0] > 0.5]
    motifs = filter_motifs(trained.model, positives, prefix=f"{trained.fold.name}_filter")
    trained.card.readout = {**motifs_to_card(motifs), "source": "training positives", "windows": int(len(positives))}


def run_training(data: TrainingSet, folds, output: Path, *, architecture: str, hyperparameters: dict, task: str,
                 window_layout: dict, settings: FitSettings, balance: bool, keep_out: set[str] | None,
                 training_info: dict) -> pd.DataFrame:
    """Train every fold not already in ``output``; write models, metrics and history."""
    output.mkdir(parents=True, exist_ok=True)
    checksum = data.checksum()
    rows, history = [], []
    for fold in folds:
        path = output / f"{fold.name}.model"
        if _same_run(path, checksum, architecture, settings, hyperparameters):
            click.echo(f"fold {fold.name}: {path} already trained on the same data and settings; kept", err=True)
            card = read_card(path)
        else:
            trained = train_folds(
                data, [fold], architecture=architecture, hyperparameters=hyperparameters, task=task,
                window_layout=window_layout, settings=settings, balance=balance, keep_out_of_validation=keep_out,
                training_info=training_info, progress=lambda name, record: _epoch_line(name, record, settings.epochs),
            )[0]
            if architecture == "argminn":
                _attach_readout(trained, data)
            save_model(trained.model, trained.card, path)
            card = trained.card
            history += [{"fold": fold.name, **record} for record in trained.fit.history]
        rows.append({"fold": fold.name, "model": path.name, "heldout": ",".join(card.training["heldout_regions"]),
                     "windows_train": card.training["windows_train"], "best_epoch": card.training["best_epoch"],
                     **card.metrics["validation"]})
        _write_tsv(pd.DataFrame(rows), output / "metrics.tsv")
    if history:
        previous = output / "history.tsv"
        old = pd.read_csv(previous, sep="\t") if previous.exists() else pd.DataFrame()
        if len(old):
            old = old[~old.fold.isin({h["fold"] for h in history})]
        _write_tsv(pd.concat([old, pd.DataFrame(history)], ignore_index=True), previous)
    return pd.DataFrame(rows)


def _write_tsv(table: pd.DataFrame, path: Path) -> None:
    scratch = path.with_name(f".{path.name}.partial")
    table.to_csv(scratch, sep="\t", index=False, float_format="%.6g")
    os.replace(scratch, path)


def print_metrics(table: pd.DataFrame, output: Path) -> None:
    shown = [c for c in ("fold", "windows_train", "best_epoch", "n", "accuracy", "auroc", "auprc", "f1", "pearson_r",
                         "spearman_r", "mse") if c in table]
    click.echo(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(f"models, metrics.tsv and history.tsv in {output}")


def settings_from_options(epochs, batch_size, learning_rate, patience, seed, device, reverse_complement,
                          threads: int | None = None) -> FitSettings:
    """The fit settings of the options; ``threads`` caps torch's CPU threads (default: torch's own,
    one per core this process may use)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return FitSettings(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience, seed=seed,
                       device=device, reverse_complement=reverse_complement)


def file_checksum(path: Path | None) -> str | None:
    if path is None:
        return None
    from scanner.genome.fasta import file_sha256

    return file_sha256(path)


def echo_counts(counts: dict) -> None:
    click.echo(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items() if isinstance(v, (int, np.integer))),
               err=True)

