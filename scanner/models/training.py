"""Training a model on windows held in memory: the loop, early stopping, metrics.

A :class:`TrainingSet` holds base codes (uint8, 1 byte per base) rather than
one-hot floats, so a set of 100,000 DeepCRE windows is 300 MB; batches are
one-hot encoded on the device.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .metrics import classification_metrics, regression_metrics

log = logging.getLogger(__name__)


@dataclass
class TrainingSet:
    """Windows with labels.

    Attributes
    ----------
    codes : ndarray of uint8, shape (n, length)
        Base codes (see :mod:`scanner.genome.alphabet`).
    labels : ndarray of float32, shape (n, targets)
    contig : ndarray of int32, shape (n,)
        Index into ``contig_ids``.
    start, end : ndarray of int64, shape (n,)
        Genome span of each window (0-based, half-open).
    names : ndarray of str, shape (n,)
        Gene id, region name or ``background_<n>``.
    contig_ids : list of str
    target_names : list of str
    """

    codes: np.ndarray
    labels: np.ndarray
    contig: np.ndarray
    start: np.ndarray
    end: np.ndarray
    names: np.ndarray
    contig_ids: list[str]
    target_names: list[str] = field(default_factory=lambda: ["target"])

    def __len__(self) -> int:
        return int(len(self.codes))

    def subset(self, index: np.ndarray) -> "TrainingSet":
        return TrainingSet(self.codes[index], self.labels[index], self.contig[index], self.start[index],
                           self.end[index], self.names[index], self.contig_ids, self.target_names)

    @staticmethod
    def concatenate(parts: list["TrainingSet"]) -> "TrainingSet":
        first = parts[0]
        return TrainingSet(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                             ("codes", "labels", "contig", "start", "end", "names")), first.contig_ids, first.target_names)

    def checksum(self) -> str:
        """SHA-256 of the sequences and labels, in order."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.codes).tobytes())
        digest.update(np.ascontiguousarray(self.labels, dtype=np.float32).tobytes())
        return digest.hexdigest()


_ONE_HOT = torch.zeros(16, 4)
for _code in range(4):
    _ONE_HOT[_code, _code] = 1.0
    _ONE_HOT[_code + 8, _code] = 1.0  # soft-masked bases are still bases


def one_hot_batch(codes: np.ndarray | torch.Tensor, *, device: str | torch.device = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One-hot ``(N, 4, L)`` from base codes ``(N, L)`` uint8, built on ``device``.

    N (and any non-ACGT code) is an all-zero column, as :func:`scanner.one_hot`.
    """
    codes = torch.as_tensor(codes).to(device=device, dtype=torch.long)
    return _ONE_HOT.to(device=device, dtype=dtype)[codes].transpose(1, 2)


@dataclass
class FitSettings:
    """How to train; defaults follow DeepCRE (Adam 1e-4, early stopping, LR reduction).

    Attributes
    ----------
    epochs : int
        Upper limit on epochs.
    batch_size : int
    learning_rate : float
    patience : int
        Epochs without a better validation loss before stopping.
    lr_patience, lr_factor : int, float
        Reduce the learning rate by ``lr_factor`` after ``lr_patience`` epochs
        without improvement.
    seed : int
        Seeds weight initialisation (in the recipes), batch order, dropout and
        augmentation.
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``.
    reverse_complement : bool
        Replace a random half of each batch by its reverse complement.
    mixed_precision : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-4
    patience: int = 5
    lr_patience: int = 2
    lr_factor: float = 0.1
    seed: int = 0
    device: str = "cpu"
    reverse_complement: bool = False
    mixed_precision: bool = True


@dataclass
class FitResult:
    history: list[dict]
    best_epoch: int
    best_loss: float
    seconds: float


def loss_function(task: str) -> nn.Module:
    return nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()


def task_metrics(task: str, labels: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """Metrics of raw outputs against labels, first target (classification on probabilities)."""
    if task == "classification":
        return classification_metrics(labels[:, 0], 1.0 / (1.0 + np.exp(-outputs[:, 0].astype(np.float64))))
    return regression_metrics(labels[:, 0], outputs[:, 0])


def _autocast(device: torch.device, enabled: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")


def predict_codes(model: nn.Module, codes: np.ndarray, *, batch_size: int = 256, device: str = "cpu",
                  mixed_precision: bool = True) -> np.ndarray:
    """Raw outputs of ``model`` on windows given as base codes.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Takes ``(N, 4, L)`` (a module is put in eval mode).
    codes : ndarray of uint8, shape (n, L)

    Returns
    -------
    ndarray of float32, shape (n, targets) (or the callable's output shape per window)
    """
    device = torch.device(device)
    if isinstance(model, nn.Module):
        model.eval()
    out = []
    with torch.no_grad(), _autocast(device, mixed_precision):
        for begin in range(0, len(codes), batch_size):
            batch = one_hot_batch(codes[begin : begin + batch_size], device=device)
            out.append(model(batch).float().cpu().numpy())
    if not out:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(out)


def _mean_loss(model, data: TrainingSet, criterion, settings, device) -> tuple[float, np.ndarray]:
    outputs = predict_codes(model, data.codes, batch_size=max(settings.batch_size, 256), device=device,
                            mixed_precision=settings.mixed_precision)
    loss = criterion(torch.from_numpy(outputs), torch.from_numpy(data.labels.astype(np.float32))).item()
    return float(loss), outputs


def fit(model: nn.Module, train: TrainingSet, valid: TrainingSet, *, task: str, settings: FitSettings,
        progress=None) -> FitResult:
    """Train ``model`` in place and leave it with the weights of its best validation epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, L)``; may define ``regularisation(epoch)`` (added to the loss).
    train, valid : TrainingSet
    task : {"classification", "regression"}
    settings : FitSettings
    progress : callable, optional
        Called with each epoch's record (a dict) after the epoch.

    Returns
    -------
    FitResult
        One record per epoch: losses, validation metrics, learning rate, seconds.
    """
    if len(train) == 0 or len(valid) == 0:
        raise ValueError(f"need training and validation windows, got {len(train)} and {len(valid)}")
    device = torch.device(settings.device)
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    model.to(device)
    criterion = loss_function(task)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=settings.lr_factor,
                                                           patience=settings.lr_patience)
    regularise = getattr(model, "regularisation", None)
    labels = torch.from_numpy(train.labels.astype(np.float32))
    best = (float("inf"), -1, copy.deepcopy(model.state_dict()))
    history = []
    began = time.perf_counter()
    stale = 0
    for epoch in range(settings.epochs):
        epoch_began = time.perf_counter()
        model.train()
        order = rng.permutation(len(train))
        total, seen = 0.0, 0
        for begin in range(0, len(order), settings.batch_size):
            index = np.sort(order[begin : begin + settings.batch_size])
            x = one_hot_batch(train.codes[index], device=device)
            if settings.reverse_complement:
                flip = torch.from_numpy(rng.random(len(index)) < 0.5).to(device)
                x = torch.where(flip[:, None, None], torch.flip(x, dims=(1, 2)), x)
            y = labels[index].to(device)
            with _autocast(device, settings.mixed_precision):
                loss = criterion(model(x).float(), y)
                if regularise is not None:
                    loss = loss + regularise(epoch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.item()) * len(index)
            seen += len(index)
        valid_loss, outputs = _mean_loss(model, valid, criterion, settings, device)
        scheduler.step(valid_loss)
        record = {
            "epoch": epoch + 1,
            "train_loss": total / seen,
            "valid_loss": valid_loss,
            "learning_rate": optimiser.param_groups[0]["lr"],
            "seconds": time.perf_counter() - epoch_began,
            **{f"valid_{k}": v for k, v in task_metrics(task, valid.labels, outputs).items() if k != "n"},
        }
        history.append(record)
        log.debug("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in record.items() if isinstance(v, float)})
        if progress is not None:
            progress(record)
        if valid_loss < best[0] - 1e-7:
            best = (valid_loss, epoch + 1, copy.deepcopy(model.state_dict()))
            stale = 0
        else:
            stale += 1
            if stale >= settings.patience:
                log.info("early stop after epoch %d; best epoch %d", epoch + 1, best[1])
                break
    model.load_state_dict(best[2])
    model.eval()
    return FitResult(history=history, best_epoch=best[1], best_loss=best[0], seconds=time.perf_counter() - began)
