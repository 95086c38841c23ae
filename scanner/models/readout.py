"""Reading motifs and motif instances out of an ARGMINN-style model.

Motifs come from the motif-scanner filters: for each filter, the windows of
sequence where its activation reaches ``fraction`` of its largest activation over
the given sequences are counted into a position frequency matrix, then flanks
with information content below ``min_information`` bits are trimmed. Motif
instances come from attention: tokens that the memory attends to strongly, named
by the filter most active there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..genome.alphabet import N
from ..motifs.motif import Motif
from .argminn import ArgminnModel
from .training import one_hot_batch


def _activations(model: ArgminnModel, codes: np.ndarray, batch_size: int, device):
    model.eval()
    with torch.no_grad():
        for begin in range(0, len(codes), batch_size):
            batch = codes[begin : begin + batch_size]
            yield begin, batch, one_hot_batch(batch, device=device)


def _column_information(probabilities: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(probabilities > 0, probabilities * np.log2(probabilities), 0.0).sum(axis=1)
    return 2.0 - entropy


def filter_motifs(model: ArgminnModel, codes: np.ndarray, *, fraction: float = 0.5, min_information: float = 0.3,
                  batch_size: int = 256, prefix: str = "filter") -> list[Motif]:
    """Position frequency matrices of the model's filters, from their strong activations.

    Parameters
    ----------
    model : ArgminnModel
    codes : ndarray of uint8, shape (n, L)
        Sequences to read the motifs from (typically the positives).
    fraction : float
        Activation, as a fraction of the filter's maximum, at which a window counts.
    min_information : float
        Flanking columns with less information (bits) are trimmed.

    Returns
    -------
    list of Motif
        One per filter that fired, ``motif_id`` ``<prefix>_<f>``; ``n_sites`` is the
        number of windows counted. Filters that never fire are left out.
    """
    device = next(model.parameters()).device
    width = model.motif_width
    n_filters = model.scanner.out_channels
    maximum = np.zeros(n_filters)
    for _, _, x in _activations(model, codes, batch_size, device):
        maximum = np.maximum(maximum, model.motif_activations(x).amax(dim=(0, 2)).cpu().numpy())
    counts = np.zeros((n_filters, width, 4))
    offsets = np.arange(width)
    for _, batch, x in _activations(model, codes, batch_size, device):
        activations = model.motif_activations(x).cpu().numpy()
        for f in np.flatnonzero(maximum > 0):
            rows, starts = np.nonzero(activations[:, f] >= fraction * maximum[f])
            windows = batch[rows[:, None], starts[:, None] + offsets] & 7
            clean = (windows < N).all(axis=1)
            windows = windows[clean]
            np.add.at(counts[f], (np.broadcast_to(offsets, windows.shape), windows), 1.0)
    motifs = []
    for f in range(n_filters):
        total = counts[f].sum(axis=1, keepdims=True)
        if total[0, 0] == 0:
            continue
        probabilities = counts[f] / total
        information = _column_information(probabilities)
        strong = np.flatnonzero(information >= min_information)
        if len(strong) == 0:
            continue
        probabilities = probabilities[strong[0] : strong[-1] + 1]
        motifs.append(Motif(f"{prefix}_{f}", f"argminn_filter_{f}", probabilities, n_sites=float(total[0, 0]),
                            source="ARGMINN filter read-out"))
    return motifs


def attention_instances(model: ArgminnModel, codes: np.ndarray, *, names: np.ndarray | None = None,
                        min_attention: float = 0.05, fraction: float = 0.5, batch_size: int = 256) -> pd.DataFrame:
    """Motif instances the model attends to.

    A token (window position) is an instance when its attention weight, the
    largest over layers and heads, is at least ``min_attention``, and its most
    active filter reaches ``fraction`` of that filter's largest activation in the
    batch of sequences given.

    Returns
    -------
    pandas.DataFrame
        ``window`` (index into ``codes``), ``name``, ``start``, ``end`` (window
        positions, 0-based half-open), ``filter``, ``activation``, ``attention``.
    """
    device = next(model.parameters()).device
    width = model.motif_width
    rows = []
    per_filter_max = None
    for _, _, x in _activations(model, codes, batch_size, device):
        batch_max = model.motif_activations(x).amax(dim=(0, 2)).cpu().numpy()
        per_filter_max = batch_max if per_filter_max is None else np.maximum(per_filter_max, batch_max)
    for begin, _, x in _activations(model, codes, batch_size, device):
        model(x)
        attention = model.attention_weights().amax(dim=(1, 2)).cpu().numpy()
        activations = model.last_activations.cpu().numpy()
        best = activations.argmax(axis=1)
        best_value = np.take_along_axis(activations, best[:, None], axis=1)[:, 0]
        strong = (attention >= min_attention) & (best_value >= fraction * per_filter_max[best]) & (best_value > 0)
        window, position = np.nonzero(strong)
        rows.append(pd.DataFrame({
            "window": window + begin,
            "start": position,
            "end": position + width,
            "filter": best[window, position],
            "activation": best_value[window, position],
            "attention": attention[window, position],
        }))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["window", "start", "end", "filter", "activation", "attention"])
    table.insert(1, "name", (names[table.window.to_numpy()] if names is not None else table.window.astype(str)))
    return table


def motifs_to_card(motifs: list[Motif]) -> dict:
    """The card's ``readout`` entry for ``motifs``."""
    return {"motifs": [{"motif_id": m.motif_id, "name": m.name, "probabilities": np.round(m.probabilities, 6).tolist(),
                        "n_sites": m.n_sites} for m in motifs]}


def motifs_from_card(card) -> list[Motif]:
    """Motifs stored in a card's ``readout`` (empty when none)."""
    return [Motif(m["motif_id"], m["name"], np.asarray(m["probabilities"], np.float64), float(m["n_sites"]),
                  source="model card read-out") for m in card.readout.get("motifs", [])]
