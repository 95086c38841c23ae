"""One file per trained model, and loading user models.

A ``.model`` file is a safetensors file: the weights as tensors and the model card
as JSON in the header metadata (key ``cre_scanner_card``), so weights and card
never drift apart and any safetensors reader can list the weights.

User models are described by a card ``.json`` file whose ``architecture`` is
``torchscript`` (``source``: a TorchScript file) or ``python`` (``source``:
``package.module:Class``, built with ``hyperparameters``; ``weights``: a
safetensors file). Relative paths are taken from the card's folder.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .architectures import ARCHITECTURES, build_model
from .card import ModelCard, ModelCardError

log = logging.getLogger(__name__)

CARD_KEY = "cre_scanner_card"


def save_model(model: nn.Module, card: ModelCard, path: str | os.PathLike) -> Path:
    """Write ``model``'s weights and ``card`` to one safetensors file, atomically.

    Parameters
    ----------
    model : torch.nn.Module
        A built-in architecture (or a ``python`` user model).
    card : ModelCard
    path : path-like
        Destination, conventionally ``<name>.model``.

    Returns
    -------
    pathlib.Path
    """
    from safetensors.torch import save_file

    if card.architecture == "torchscript":
        raise ModelCardError("TorchScript models are used through their card .json file, not saved as .model files")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().to("cpu").contiguous() for name, value in model.state_dict().items()}
    scratch = path.with_name(f".{path.name}.partial")
    save_file(tensors, str(scratch), metadata={CARD_KEY: card.to_json()})
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(scratch, 0o666 & ~umask)  # safetensors writes owner-only files
    os.replace(scratch, path)
    return path


def read_card(path: str | os.PathLike) -> ModelCard:
    """The card of a ``.model`` file or of a user model's ``.json`` card."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.suffix == ".json":
        return ModelCard.read(path)
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:
        raise ModelCardError(f"{path}: not a cre-scanner model file (safetensors: {error})") from None
    if CARD_KEY not in metadata:
        raise ModelCardError(f"{path}: safetensors file without a cre-scanner model card ('{CARD_KEY}' metadata)")
    return ModelCard.from_json(metadata[CARD_KEY], str(path))


@dataclass
class LoadedModel:
    """A model ready for inference: the module in eval mode and its card.

    ``forward`` takes one-hot ``(N, 4, L)`` in ACGT order whatever the model's own
    input layout, and applies the card's strand rule.
    """

    module: nn.Module
    card: ModelCard
    path: Path

    @property
    def device(self) -> torch.device:
        for tensor in self.module.parameters():
            return tensor.device
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> "LoadedModel":
        self.module.to(device)
        return self

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Model outputs for ``(N, 4, L)`` input, one strand, ``(N, targets)``."""
        if self.card.input_layout == "NLC":
            x = x.transpose(1, 2)
        return self.module(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs under the card's strand rule: ``(N, targets)``, or ``(N, 2, targets)`` for ``both``."""
        if self.card.strand == "forward":
            return self.raw(x)
        reverse = self.raw(torch.flip(x, dims=(1, 2)))  # ACGT channels reversed = complement
        forward = self.raw(x)
        if self.card.strand == "average":
            return (forward + reverse) / 2
        return torch.stack([forward, reverse], dim=1)

    __call__ = forward

    def predict_codes(self, codes: np.ndarray, *, batch_size: int = 256, mixed_precision: bool = True) -> np.ndarray:
        """Outputs for windows given as base codes ``(n, L)`` uint8, in batches.

        On a CUDA device the forward passes run under bfloat16 autocast unless
        ``mixed_precision`` is False; on a CPU always in the model's dtype.

        Returns
        -------
        ndarray of float32, shape (n, targets), or (n, 2, targets) for strand ``both``
        """
        from .training import predict_codes

        if len(codes) == 0:
            shape = (0, 2, len(self.card.targets)) if self.card.strand == "both" else (0, len(self.card.targets))
            return np.zeros(shape, np.float32)
        return predict_codes(self.forward, codes, batch_size=batch_size, device=self.device,
                             mixed_precision=mixed_precision)


def _resolve(card_path: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else card_path.parent / path


def _import_class(spec: str, where: str):
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ModelCardError(f"{where}: source must be 'package.module:Class', got {spec!r}")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ModelCardError(f"{where}: cannot import {spec!r} ({error})") from None


def _load_weights(module: nn.Module, weights: Path, where: str) -> None:
    from safetensors.torch import load_file

    state = load_file(str(weights))
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ModelCardError(f"{where}: the weights in {weights} do not fit the architecture ({first} ...)") from None


def _check_output(loaded: LoadedModel) -> None:
    card = loaded.card
    probe = torch.zeros(2, 4, card.input_length, device=loaded.device)
    try:
        with torch.no_grad():
            out = loaded.raw(probe)
    except Exception as error:
        raise ModelCardError(
            f"{loaded.path}: the model fails on input of shape (2, 4, {card.input_length}) as its card describes "
            f"(input_length {card.input_length}, layout {card.input_layout}): {error}"
        ) from None
    if tuple(out.shape) != (2, len(card.targets)):
        raise ModelCardError(
            f"{loaded.path}: the card names {len(card.targets)} target(s) for input length {card.input_length}, "
            f"but the model returns shape {tuple(out.shape)} for 2 windows"
        )


def load_model(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a ``.model`` file or a user model's card ``.json``.

    The module is put in eval mode on ``device`` and probed once with zero input to
    check that its output shape agrees with the card.

    Parameters
    ----------
    path : path-like
    device : str or torch.device

    Returns
    -------
    LoadedModel
    """
    path = Path(path)
    card = read_card(path)
    where = str(path)
    if card.architecture in ARCHITECTURES:
        module = build_model(card.architecture, **card.hyperparameters)
        _load_weights(module, path if path.suffix != ".json" else _resolve(path, card.weights or ""), where)
    elif card.architecture == "torchscript":
        source = _resolve(path, card.source)
        if not source.exists():
            raise FileNotFoundError(f"{where}: TorchScript file not found: {source}")
        module = torch.jit.load(str(source), map_location="cpu")
    elif card.architecture == "python":
        cls = _import_class(card.source, where)
        module = cls(**card.hyperparameters)
        weights = path if path.suffix != ".json" else (_resolve(path, card.weights) if card.weights else None)
        if weights is not None:
            _load_weights(module, weights, where)
        else:
            log.warning("%s: no weights named; the model keeps its initial parameters", where)
    else:
        raise ModelCardError(
            f"{where}: unknown architecture {card.architecture!r}; built-in: {', '.join(ARCHITECTURES)}, "
            "or 'torchscript' / 'python' for user models"
        )
    module.eval()
    loaded = LoadedModel(module=module, card=card, path=path).to(device)
    _check_output(loaded)
    return loaded


def write_user_card(card: ModelCard, path: str | os.PathLike) -> Path:
    """Write a user model's card as JSON, after checking that the model loads with it.

    Relative ``source`` and ``weights`` are taken from the card's folder.
    """
    path = Path(path)
    if path.suffix != ".json":
        raise ValueError(f"a user model card is a .json file, got {path}")
    scratch = path.with_name(f".{path.stem}.partial.json")
    scratch.write_text(card.to_json() + "\n")
    try:
        load_model(scratch)
    except BaseException:
        scratch.unlink()
        raise
    os.replace(scratch, path)
    return path
