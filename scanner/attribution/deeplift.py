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


class _Activations:
    """Inputs and outputs of the rule modules: the observed windows' (one forward
    pass with gradients) and their references' (one pass without), with the
    reference in use by the current backward pass."""

    def __init__(self):
        self.phase = "observed"
        self.observed: dict[int, tuple] = {}
        self.reference: dict[int, tuple] = {}
        self.index = 0
        self.windows = 0
        self.references = 0

    def split(self, joint: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The observed rows and the references' rows of the joint pass."""
        if joint.shape[0] != (self.references + 1) * self.windows:
            return joint, joint  # a constant shared by the batch
        return joint[: self.windows], joint[self.windows :]

    def stack(self, observed: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """The observed rows on top of the current reference's rows."""
        if reference.shape[0] == 1 and self.references * self.windows > 1:
            return observed  # a constant shared by the batch (a fixed query): left unstacked
        rows = reference[self.index * self.windows : (self.index + 1) * self.windows]
        return torch.cat([observed, rows], dim=0)


def _with_zeros(t):
    return None if t is None else torch.cat([t, torch.zeros_like(t)], dim=0)


@contextmanager
def deeplift_hooks(model: nn.Module, activations: _Activations):
    """Attach the rules to every rule module of ``model`` for the duration.

    The observed windows run forward first (with gradients, for the graph only),
    then once more together with all their references (without), and the rules
    read the activations of that joint pass: where a window and a reference have
    equal inputs to a module, one pass gives bitwise equal activations, which two
    batches of different sizes do not in float32 (the max-pool rule tells an
    unmoved input by an exact zero change). Elementwise and max-pool modules turn
    the two into per-reference multipliers right away (:func:`rules.prepare_elementwise`,
    :func:`rules.prepare_maxpool`); the other rules keep the activations and stack
    the observed ones with the current reference's in the backward pass.
    """
    from . import rules

    handles = []
    for module in model.modules():
        if not isinstance(module, RULE_MODULES):
            continue
        rule = rule_for(module)
        prepared_kind = "elementwise" if rule is rules.elementwise else "maxpool" if rule is rules.maxpool else None

        def keep(mod, inputs, output, key=id(module), kind=prepared_kind):
            if activations.phase == "observed":
                return  # the graph is all this pass is for: the rules read the joint pass
            split = [activations.split(i.detach()) for i in inputs]
            x_out, r_out = activations.split(output.detach())
            if kind is None:
                activations.observed[key] = (tuple(x for x, _ in split), x_out)
                activations.reference[key] = (tuple(r for _, r in split), r_out)
                return
            ((x_in, r_in),) = split
            k = activations.references
            ref_in = r_in.reshape(k, *x_in.shape)
            ref_out = r_out.reshape(k, *x_out.shape)
            if kind == "elementwise":
                activations.reference[key] = rules.prepare_elementwise(x_in, x_out, ref_in, ref_out)
            else:
                activations.reference[key] = rules.prepare_maxpool(mod, x_in, x_out, ref_in, ref_out)

        def replace(mod, grad_input, grad_output, key=id(module), rule=rule, kind=prepared_kind):
            if kind == "elementwise":
                return rules.apply_elementwise(activations.reference[key], activations.index, grad_input, grad_output)
            if kind == "maxpool":
                return rules.apply_maxpool(activations.reference[key], activations.index, grad_input, grad_output)
            x_inputs, x_output = activations.observed[key]
            r_inputs, r_output = activations.reference[key]
            inputs = tuple(activations.stack(x, r) for x, r in zip(x_inputs, r_inputs))
            output = activations.stack(x_output, r_output)
            grads = rule(mod, inputs, output, tuple(_with_zeros(g) for g in grad_input),
                         tuple(_with_zeros(g) for g in grad_output))
            return tuple(None if g is None else g[: g.shape[0] // 2] for g in grads)

        handles.append(module.register_forward_hook(keep))
        handles.append(module.register_full_backward_hook(replace))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        activations.observed.clear()
        activations.reference.clear()


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


def deeplift_multipliers(model: nn.Module, x: torch.Tensor, references: torch.Tensor, target: int):
    """Multipliers of ``target`` at the input, for each window against each of its references.

    The windows run forward once (with gradients), then once more with the
    references (without); then one backward pass per reference reuses the
    windows' graph.

    Parameters
    ----------
    model : torch.nn.Module
        Audited, in eval mode, taking ``(N, 4, L)``.
    x : torch.Tensor, shape (windows, 4, L)
    references : torch.Tensor, shape (k, windows, 4, L)
    target : int

    Returns
    -------
    multipliers : torch.Tensor, shape (k, windows, 4, L)
    out : torch.Tensor, shape (windows,)
        ``f(x)``.
    reference_out : torch.Tensor, shape (k, windows)
        ``f(reference)``.
    """
    k, n = references.shape[:2]
    activations = _Activations()
    activations.windows, activations.references = n, k
    x = x.detach().requires_grad_(True)
    multipliers = []
    with deeplift_hooks(model, activations), torch.enable_grad():
        activations.phase = "observed"
        out = model(x)[:, target]
        activations.phase = "reference"
        with torch.no_grad():
            joint = torch.cat([x.detach(), references.reshape(k * n, *references.shape[2:])])
            reference_out = model(joint)[n:, target].reshape(k, n)
        for index in range(k):
            activations.index = index
            (m,) = torch.autograd.grad(out.sum(), x, retain_graph=index < k - 1)
            multipliers.append(m)
    return torch.stack(multipliers), out.detach(), reference_out


def deeplift_shap(model: nn.Module, codes: np.ndarray, references: np.ndarray, *, target: int = 0,
                  batch_size: int = 40, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
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
        Window-reference pairs per batch (whole windows: at least one window with
        all its references). On a CPU two windows with 20 references (40) keep the
        activations in cache; on a GPU more is better.
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
    reference_output = np.zeros(n)
    delta_abs = np.zeros(n)
    strands = (False, True) if reverse_complement_average else (False,)
    per_batch = max(1, batch_size // k)  # windows per batch: batch_size counts window-reference pairs
    for begin in range(0, n, per_batch):
        rows = slice(begin, min(begin + per_batch, n))
        x = _one_hot(codes[rows], dtype, device)
        refs = torch.stack([_one_hot(references[rows, r], dtype, device) for r in range(k)])  # (k, windows, 4, L)
        out_sum, ref_sum = 0.0, 0.0
        for flip in strands:
            xs, rs = (torch.flip(x, (1, 2)), torch.flip(refs, (2, 3))) if flip else (x, refs)
            m, out, ref_out = deeplift_multipliers(model, xs, rs, target)
            if flip:
                m = torch.flip(m, (2, 3))
            hyp = (m - (refs * m).sum(dim=2, keepdim=True)).mean(dim=0)
            hypothetical[rows] += hyp.double().cpu().numpy() / len(strands)
            out_sum = out_sum + out.double() / len(strands)
            ref_sum = ref_sum + ref_out.double() / len(strands)
        output[rows] = out_sum.cpu().numpy()
        reference_output[rows] = ref_sum.mean(dim=0).cpu().numpy()
        delta_abs[rows] = (out_sum[None] - ref_sum).abs().mean(dim=0).cpu().numpy()
    x_all = _one_hot(codes, torch.float64, "cpu").numpy()
    actual = hypothetical * x_all
    with np.errstate(invalid="ignore", divide="ignore"):
        completeness = np.abs(actual.sum(axis=(1, 2)) - (output - reference_output)) / np.maximum(delta_abs, 1e-12)
    flagged = int((completeness > FLAG_RELATIVE_ERROR).sum())
    if flagged:
        log.warning("DeepLIFT completeness: %d of %d windows above %.0e relative (max %.2e)", flagged, n,
                    FLAG_RELATIVE_ERROR, float(np.nanmax(completeness)))
    return Attributions(
        hypothetical=hypothetical.transpose(0, 2, 1).astype(np.float32),
        actual=actual.transpose(0, 2, 1).astype(np.float32),
        output=output,
        reference_output=reference_output,
        completeness=completeness,
    )
