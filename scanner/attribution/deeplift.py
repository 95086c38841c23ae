"""DeepLIFT / DeepSHAP with exact rules, on audited models.

For each window and each of its references the model runs once on the pair
(stacked on the batch axis), forward hooks keep every rule module's input and
output, and backward hooks replace torch's local gradients by the rules'
multipliers (:mod:`scanner.attribution.rules`). The multipliers at the one-hot
input give hypothetical contributions: for base b at a position,
``m[b] - sum_c ref[c] m[c]`` (what the position would contribute if it were b,
measured from the reference), averaged over the references; actual contributions
are the hypothetical ones times the one-hot input.

Completeness -- the actual contributions summing to ``f(x) - mean f(refs)`` -- is
checked for every window: the error is reported relative to the mean absolute
output change over the references.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .audit import RULE_MODULES, AttributionError, audit_model
from .rules import rule_for

log = logging.getLogger(__name__)

FLAG_RELATIVE_ERROR = 1e-4


@contextmanager
def deeplift_hooks(model: nn.Module):
    """Attach the rules to every rule module of ``model`` for the duration."""
    handles = []
    stored: dict[int, tuple] = {}
    for module in model.modules():
        if not isinstance(module, RULE_MODULES):
            continue
        rule = rule_for(module)

        def keep(mod, inputs, output, key=id(module)):
            stored[key] = (tuple(i.detach() for i in inputs), output.detach())

        def replace(mod, grad_input, grad_output, key=id(module), rule=rule):
            inputs, output = stored[key]
            return rule(mod, inputs, output, grad_input, grad_output)

        handles.append(module.register_forward_hook(keep))
        handles.append(module.register_full_backward_hook(replace))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        stored.clear()


@dataclass
class Attributions:
    """Attribution results for a set of windows.

    Attributes
    ----------
    hypothetical : ndarray of float32, shape (windows, positions, 4)
        Hypothetical contributions (A, C, G, T).
    actual : ndarray of float32, shape (windows, positions, 4)
        ``hypothetical`` times the one-hot input (zero at N).
    output : ndarray of float64, shape (windows,)
        The attributed output (``f(x)``) of each window.
    reference_output : ndarray of float64, shape (windows,)
        Mean output over the window's references (``nan`` for methods without).
    completeness : ndarray of float64, shape (windows,)
        ``|sum(actual) - (output - reference_output)|`` divided by the mean absolute
        output change over the references (``nan`` where not defined).
    """

    hypothetical: np.ndarray
    actual: np.ndarray
    output: np.ndarray
    reference_output: np.ndarray
    completeness: np.ndarray


def _one_hot(codes: np.ndarray, dtype, device) -> torch.Tensor:
    from ..models.training import one_hot_batch

    return one_hot_batch(codes, device=device, dtype=dtype)


def deeplift_multipliers(model: nn.Module, x: torch.Tensor, reference: torch.Tensor, target: int):
    """Multipliers of ``target`` at the input for pairs ``(x[i], reference[i])``.

    Parameters
    ----------
    model : torch.nn.Module
        Audited, in eval mode, taking ``(N, 4, L)``.
    x, reference : torch.Tensor, shape (pairs, 4, L)
    target : int

    Returns
    -------
    multipliers : torch.Tensor, shape (pairs, 4, L)
    delta_out : torch.Tensor, shape (pairs,)
        ``f(x) - f(reference)`` for the target.
    out : torch.Tensor, shape (pairs,)
        ``f(x)``.
    """
    x = x.detach().requires_grad_(True)
    stacked = torch.cat([x, reference.detach()], dim=0)
    with deeplift_hooks(model), torch.enable_grad():
        outputs = model(stacked)[:, target]
        observed, referenced = outputs.chunk(2)
        (multipliers,) = torch.autograd.grad(observed.sum(), x)
    return multipliers.detach(), (observed - referenced).detach(), observed.detach()


def deeplift_shap(model: nn.Module, codes: np.ndarray, references: np.ndarray, *, target: int = 0,
                  batch_size: int = 64, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                  reverse_complement_average: bool = False, audit: bool = True) -> Attributions:
    """DeepLIFT/SHAP contributions of windows against their references.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, L)``; audited first (see :func:`scanner.attribution.audit_model`).
    codes : ndarray of uint8, shape (n, L)
    references : ndarray of uint8, shape (n, k, L)
        For example from :func:`scanner.attribution.shuffle.dinucleotide_shuffles`.
    target : int
        Output column attributed (classifiers: the logit).
    batch_size : int
        Window-reference pairs per forward pass.
    dtype : torch.dtype
        float32 (default) or float64.
    reverse_complement_average : bool
        Attribute ``(f(x) + f(rc x)) / 2`` (a card's strand rule ``average``); the
        references are reverse-complemented with the window.

    Returns
    -------
    Attributions
    """
    if audit:
        audit_model(model)
    device = torch.device(device)
    model = model.to(device=device, dtype=dtype).eval()
    n, k, length = references.shape
    if codes.shape != (n, length):
        raise AttributionError(f"codes {codes.shape} and references {references.shape} do not match")
    hypothetical = np.zeros((n, 4, length), dtype=np.float64)
    output = np.zeros(n)
    delta_sum = np.zeros(n)
    delta_abs = np.zeros(n)
    contribution = np.zeros(n)
    pairs_window = np.repeat(np.arange(n), k)
    pairs_ref = np.tile(np.arange(k), n)
    strands = (False, True) if reverse_complement_average else (False,)
    for begin in range(0, n * k, batch_size):
        w = pairs_window[begin : begin + batch_size]
        r = pairs_ref[begin : begin + batch_size]
        x = _one_hot(codes[w], dtype, device)
        ref = _one_hot(references[w, r], dtype, device)
        weight = 1.0 / len(strands)
        for flip in strands:
            xs, refs = (torch.flip(x, (1, 2)), torch.flip(ref, (1, 2))) if flip else (x, ref)
            m, delta, out = deeplift_multipliers(model, xs, refs, target)
            if flip:
                m = torch.flip(m, (1, 2))
            hyp = m - (ref * m).sum(dim=1, keepdim=True)
            actual = ((x - ref) * m).sum(dim=(1, 2))
            np.add.at(hypothetical, w, weight * hyp.double().cpu().numpy() / k)
            np.add.at(output, w, weight * out.double().cpu().numpy() / k)
            np.add.at(delta_sum, w, weight * delta.double().cpu().numpy() / k)
            np.add.at(contribution, w, weight * actual.double().cpu().numpy() / k)
        np.add.at(delta_abs, w, np.abs(_pair_delta(model, x, ref, target, strands)) / k)
    x_all = _one_hot(codes, torch.float64, "cpu").numpy()
    actual = hypothetical * x_all
    with np.errstate(invalid="ignore", divide="ignore"):
        completeness = np.abs(actual.sum(axis=(1, 2)) - delta_sum) / np.maximum(delta_abs, 1e-12)
    flagged = int((completeness > FLAG_RELATIVE_ERROR).sum())
    if flagged:
        log.warning("DeepLIFT completeness: %d of %d windows above %.0e relative (max %.2e)", flagged, n,
                    FLAG_RELATIVE_ERROR, float(np.nanmax(completeness)))
    return Attributions(
        hypothetical=hypothetical.transpose(0, 2, 1).astype(np.float32),
        actual=actual.transpose(0, 2, 1).astype(np.float32),
        output=output,
        reference_output=output - delta_sum,
        completeness=completeness,
    )


def _pair_delta(model, x, ref, target, strands) -> np.ndarray:
    """Per pair, ``f(x) - f(ref)`` under the strand rule (for the error's scale)."""
    with torch.no_grad():
        total = 0.0
        for flip in strands:
            xs, refs = (torch.flip(x, (1, 2)), torch.flip(ref, (1, 2))) if flip else (x, ref)
            total = total + (model(xs)[:, target] - model(refs)[:, target])
    return (total / len(strands)).double().cpu().numpy()
