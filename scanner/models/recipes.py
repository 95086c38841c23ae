"""Training recipes: from a genome store and labels to trained models with cards.

- :func:`expression_set`: gene windows labelled from an expression table
  (DeepCRE's quartile classes, or the raw value for regression).
- :func:`region_set`: positive windows (BED intervals or gene windows) against
  GC-matched background windows of the same genome and geometry.
- :func:`train_folds`: one model per fold (leave-one-chromosome-out or held-out
  regions), each with its card and validation metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import xarray as xr

from .architectures import build_model
from .card import ModelCard
from .labels import Fold, LabelError, balance_classes, chromosome_folds, expression_labels, in_regions, parse_region
from .training import FitResult, FitSettings, TrainingSet, fit, predict_codes, task_metrics

log = logging.getLogger(__name__)

LAYOUT_KEYS = ("layout", "window_length", "upstream", "downstream", "spacer", "short_genes", "contig_edges")


def window_layout(windows: xr.Dataset) -> dict:
    """The window attributes a model card records (layout and its parameters)."""
    layout = {key: windows.attrs[key] for key in LAYOUT_KEYS if key in windows.attrs}
    for key, value in layout.items():
        if isinstance(value, np.generic):
            layout[key] = value.item()
    if "position_masked" in windows:
        layout["masked_positions"] = np.flatnonzero(windows.position_masked.values).tolist()
    return layout


def window_codes(genome, windows: xr.Dataset, client=None) -> np.ndarray:
    """Base codes ``(windows, positions)`` uint8 of every window, computed (on ``client`` if given)."""
    from ..tiling.sequences import window_sequences

    codes = window_sequences(genome, windows).data
    if client is not None:
        return client.compute(codes).result()
    return codes.compute(scheduler="threads")


def _set_from_windows(genome, windows: xr.Dataset, labels: np.ndarray, names: np.ndarray, target_names, client=None) -> TrainingSet:
    return TrainingSet(
        codes=window_codes(genome, windows, client),
        labels=np.asarray(labels, np.float32).reshape(len(names), -1),
        contig=windows.window_contig.values.astype(np.int32),
        start=windows.window_start.values.astype(np.int64),
        end=windows.window_end.values.astype(np.int64),
        names=np.asarray(names).astype(str),
        contig_ids=list(genome.contig_names),
        target_names=list(target_names),
    )


def expression_set(genome, windows: xr.Dataset, expression: pd.Series, *, task: str = "classification",
                   lower: float = 0.25, upper: float = 0.75, client=None) -> tuple[TrainingSet, dict]:
    """Gene windows labelled from expression values.

    Parameters
    ----------
    genome : Genome
    windows : xarray.Dataset
        From :func:`scanner.gene_windows`.
    expression : pandas.Series
        Value per gene id (see :func:`scanner.models.labels.read_expression`).
    task : {"classification", "regression"}
        Classification labels by DeepCRE's rule (quartiles over the whole table);
        regression uses the value itself.

    Returns
    -------
    TrainingSet, dict
        The set and counts: genes with windows, with values, labelled, dropped.
    """
    genes = windows.window_gene_id.values.astype(str)
    if task == "classification":
        values = expression_labels(expression, lower=lower, upper=upper)
    elif task == "regression":
        values = expression
    else:
        raise LabelError(f"task must be 'classification' or 'regression', got {task!r}")
    has_value = np.isin(genes, values.index.to_numpy())
    counts = {
        "gene_windows": int(len(genes)),
        "expression_genes": int(len(expression)),
        "windows_without_expression": int((~np.isin(genes, expression.index.to_numpy())).sum()),
        "expression_without_window": int((~expression.index.isin(genes)).sum()),
        "windows_labelled": int(has_value.sum()),
    }
    if task == "classification":
        counts["windows_between_quartiles"] = int(np.isin(genes, expression.index.to_numpy()).sum() - has_value.sum())
    if counts["windows_labelled"] == 0:
        raise LabelError(
            "no gene window has an expression value: gene ids of the table "
            f"({', '.join(map(str, expression.index[:3]))} ...) and of the GFF ({', '.join(genes[:3])} ...) do not match"
        )
    log.info("expression labels: %s", counts)
    chosen = windows.isel(windows=np.flatnonzero(has_value))
    labels = values.reindex(genes[has_value]).to_numpy(np.float32)
    return _set_from_windows(genome, chosen, labels, genes[has_value], ["expression"], client), counts


def _require_windows(windows: xr.Dataset, kind: str) -> None:
    """Refuse an empty window set, with why its regions were skipped where known."""
    if windows.sizes["windows"]:
        return
    why = ""
    if "regions_unknown_contig" in windows.attrs:
        why = (f": every {kind} region was skipped ({windows.attrs['regions_unknown_contig']} on contigs not in the "
               f"genome, {windows.attrs['regions_off_contig_edge']} with a window off the contig)")
    raise ValueError(f"no {kind} windows{why}")


def region_set(genome, positives: xr.Dataset, *, ratio: float = 1.0, seed: int = 0,
               negatives: xr.Dataset | None = None, client=None) -> tuple[TrainingSet, dict]:
    """Positive windows (label 1) and negative windows (label 0): given, or GC-matched background.

    Background windows of gene layouts contain no gene start or end of the
    positives; those of region layouts overlap no positive window.

    Parameters
    ----------
    genome : Genome
    positives : xarray.Dataset
        Region windows (:func:`scanner.tiling.regions.region_windows`) or gene windows.
    ratio : float
        Background windows per positive (without ``negatives``).
    seed : int
    negatives : xarray.Dataset, optional
        Region windows labelled 0 instead of drawn background, of the positives'
        length. Those sharing a base with a positive window are left out (counted
        as ``negatives_overlapping_positives``).

    Returns
    -------
    TrainingSet, dict
        The windows, and counts (with negatives: also the negative regions skipped,
        ``negatives_regions_unknown_contig`` and ``negatives_regions_off_contig_edge``).

    Raises
    ------
    ValueError
        No positive windows, no negative ones, negatives of another window
        length than the positives', or none left clear of the positives.
    """
    from ..tiling.regions import gene_anchors, matched_background, overlapping

    _require_windows(positives, "positive")
    names = positives.window_gene_id.values if "window_gene_id" in positives else positives.window_name.values
    positive = _set_from_windows(genome, positives, np.ones(positives.sizes["windows"]), names, ["positive"], client)
    if negatives is not None:
        length, theirs = int(positives.attrs["window_length"]), int(negatives.attrs["window_length"])
        if theirs != length:
            raise ValueError(f"negative windows are {theirs} bases long, the positive ones {length}")
        _require_windows(negatives, "negative")
        clash = overlapping(positives, negatives)
        kept = negatives.isel(windows=np.flatnonzero(~clash))
        if kept.sizes["windows"] == 0:
            raise ValueError(f"all {len(clash)} negative windows share bases with positive windows: no negatives left")
        if clash.any():
            log.warning("%d of %d negative windows share bases with positive windows; left out",
                        int(clash.sum()), len(clash))
        negative = _set_from_windows(genome, kept, np.zeros(kept.sizes["windows"]), kept.window_name.values,
                                     ["positive"], client)
        counts = {"positives": len(positive), "negatives": len(negative),
                  "negatives_overlapping_positives": int(clash.sum()),
                  **{f"negatives_{k}": int(v) for k, v in negatives.attrs.items() if k.startswith("regions_")}}
    else:
        avoid = gene_anchors(positives) if "window_gene_start" in positives else None
        background = matched_background(genome, positives, positive.codes, ratio=ratio, seed=seed, avoid=avoid)
        negative = _set_from_windows(genome, background, np.zeros(background.sizes["windows"]),
                                     background.window_name.values, ["positive"], client)
        counts = {"positives": len(positive), "background": len(negative),
                  **{k: int(v) for k, v in background.attrs.items() if k.startswith("background_")}}
    log.info("region set: %s", counts)
    return TrainingSet.concatenate([positive, negative]), counts


def make_folds(data: TrainingSet, *, folds: str | None = None, holdout: list[str] | None = None,
               contig_lengths: dict[str, int]) -> list[Fold]:
    """Leave-one-chromosome-out folds (``folds="by-chromosome"``) or one held-out-region fold."""
    if folds == "by-chromosome":
        present = [data.contig_ids[i] for i in np.unique(data.contig)]
        return chromosome_folds(present, contig_lengths)
    if folds is not None:
        raise LabelError(f"folds must be 'by-chromosome' (or give held-out regions), got {folds!r}")
    if not holdout:
        raise LabelError("give folds='by-chromosome' or at least one held-out region")
    regions = tuple(parse_region(text, contig_lengths) for text in holdout)
    return [Fold("holdout", regions)]


@dataclass
class TrainedFold:
    fold: Fold
    model: torch.nn.Module
    card: ModelCard
    metrics: dict
    fit: FitResult


def train_folds(data: TrainingSet, folds: list[Fold], *, architecture: str, hyperparameters: dict, task: str,
                window_layout: dict, settings: FitSettings, balance: bool = False,
                keep_out_of_validation: set[str] | None = None, training_info: dict | None = None,
                progress=None) -> list[TrainedFold]:
    """Train one model per fold; each card records its split, data checksum and metrics.

    Parameters
    ----------
    data : TrainingSet
    folds : list of Fold
        Windows overlapping a fold's held-out regions validate; the rest train.
    architecture, hyperparameters
        Passed to :func:`scanner.models.build_model` (``input_length`` and
        ``targets`` are filled in from the data).
    task : {"classification", "regression"}
    window_layout : dict
        From :func:`window_layout`.
    settings : FitSettings
    balance : bool
        Down-sample the training windows of each fold to equal classes.
    keep_out_of_validation : set of str, optional
        Names (gene ids) left out of every validation set (for example genes with
        close paralogues in the training set).
    training_info : dict, optional
        Extra provenance for the card (genome checksum, files, recipe).
    progress : callable, optional
        ``progress(fold_name, epoch_record)`` after each epoch.

    Returns
    -------
    list of TrainedFold
    """
    hyperparameters = {**hyperparameters, "input_length": int(data.codes.shape[1]), "targets": len(data.target_names)}
    trained = []
    for fold in folds:
        heldout = in_regions(data.contig, data.start, data.end, list(fold.heldout), data.contig_ids)
        validation = heldout.copy()
        if keep_out_of_validation:
            validation &= ~np.isin(data.names, list(keep_out_of_validation))
        train_index = np.flatnonzero(~heldout)
        if balance:
            rng = np.random.default_rng(settings.seed)
            train_index = train_index[balance_classes(data.labels[train_index, 0], rng)]
        train, valid = data.subset(train_index), data.subset(np.flatnonzero(validation))
        if len(train) == 0 or len(valid) == 0:
            raise LabelError(f"fold {fold.name}: {len(train)} training and {len(valid)} validation windows; "
                             "choose other held-out regions")
        log.info("fold %s: %d training, %d validation windows", fold.name, len(train), len(valid))
        torch.manual_seed(settings.seed)
        model = build_model(architecture, **hyperparameters)
        result = fit(model, train, valid, task=task, settings=settings,
                     progress=None if progress is None else (lambda record, name=fold.name: progress(name, record)))
        outputs = predict_codes(model, valid.codes, device=settings.device)
        metrics = task_metrics(task, valid.labels, outputs)
        card = ModelCard(
            architecture=architecture,
            hyperparameters=hyperparameters,
            input_length=hyperparameters["input_length"],
            targets=list(data.target_names),
            task=task,
            window_layout=dict(window_layout),
            strand="average" if settings.reverse_complement else "forward",
            receptive_field=int(getattr(model, "receptive_field", hyperparameters["input_length"])),
            training={
                **(training_info or {}),
                "data_sha256": data.checksum(),
                "fold": fold.name,
                "heldout_regions": [str(r) for r in fold.heldout],
                "heldout_contigs": sorted({r.contig for r in fold.heldout}),
                "windows_train": len(train),
                "windows_validation": len(valid),
                "class_counts_train": {str(int(k)): int(v) for k, v in zip(*np.unique(train.labels[:, 0], return_counts=True))}
                if task == "classification" else {},
                "balanced": bool(balance),
                "epochs_run": len(result.history),
                "best_epoch": result.best_epoch,
                "settings": {k: v for k, v in vars(settings).items()},
                "torch_version": torch.__version__,
            },
            metrics={"validation": metrics},
        )
        trained.append(TrainedFold(fold, model, card, metrics, result))
    return trained


def evaluate(model, data: TrainingSet, *, batch_size: int = 256) -> dict:
    """Metrics of a loaded model (:class:`~scanner.models.model_file.LoadedModel`) on a labelled set.

    Under the ``both`` strand rule the two strands' outputs are averaged.
    """
    outputs = model.predict_codes(data.codes, batch_size=batch_size)
    if outputs.ndim == 3:
        outputs = outputs.mean(axis=1)
    return task_metrics(model.card.task, data.labels, outputs)
