"""Gradient attributions for any differentiable model: gradient x input and
integrated gradients.

Gradient x input costs one forward and one backward pass: the genome-wide default.
Its hypothetical contributions are the input gradient centred across the four
bases at each position (a one-hot input can only trade one base for another, so
the part common to all four carries no information); actual contributions are
those times the one-hot input.

Integrated gradients average the gradient along straight paths from references
(for example dinucleotide shuffles) to the input at Gauss-Legendre nodes, and use
the averaged gradient as multipliers exactly as DeepSHAP does; completeness then
holds up to the quadrature error, which is reported like DeepLIFT's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .deeplift import Attributions, _one_hot


def _gradient(model: nn.Module, x: torch.Tensor, target: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = model(x)[:, target]
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad.detach(), out.detach()


def _rc_average(model, x, target):
    grad, out = _gradient(model, x, target)
    grad_rc, out_rc = _gradient(model, torch.flip(x, (1, 2)), target)
    return (grad + torch.flip(grad_rc, (1, 2))) / 2, (out + out_rc) / 2


def gradient_x_input(model: nn.Module, codes: np.ndarray, *, target: int = 0, batch_size: int = 128,
                     dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                     reverse_complement_average: bool = False) -> Attributions:
    """Mean-centred input gradients (hypothetical) and gradient x input (actual).

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, L)``.
    codes : ndarray of uint8, shape (n, L)

    Returns
    -------
    Attributions
        ``reference_output`` and ``completeness`` are NaN (no reference).
    """
    device = torch.device(device)
    model = model.to(device=device, dtype=dtype).eval()
    n, length = codes.shape
    hypothetical = np.empty((n, length, 4), np.float32)
    actual = np.empty((n, length, 4), np.float32)
    output = np.empty(n)
    for begin in range(0, n, batch_size):
        x = _one_hot(codes[begin : begin + batch_size], dtype, device)
        grad, out = _rc_average(model, x, target) if reverse_complement_average else _gradient(model, x, target)
        centred = grad - grad.mean(dim=1, keepdim=True)
        hypothetical[begin : begin + len(x)] = centred.transpose(1, 2).float().cpu().numpy()
        actual[begin : begin + len(x)] = (centred * x).transpose(1, 2).float().cpu().numpy()
        output[begin : begin + len(x)] = out.double().cpu().numpy()
    nan = np.full(n, np.nan)
    return Attributions(hypothetical, actual, output, nan, nan)


def integrated_gradients(model: nn.Module, codes: np.ndarray, references: np.ndarray, *, steps: int = 16,
                         target: int = 0, batch_size: int = 128, dtype: torch.dtype = torch.float32,
                         device: str | torch.device = "cpu", reverse_complement_average: bool = False) -> Attributions:
    """Integrated gradients from each reference, averaged over references.

    Parameters
    ----------
    model : torch.nn.Module
    codes : ndarray of uint8, shape (n, L)
    references : ndarray of uint8, shape (n, k, L)
    steps : int
        Gauss-Legendre nodes along each path.

    Returns
    -------
    Attributions
    """
    device = torch.device(device)
    model = model.to(device=device, dtype=dtype).eval()
    n, k, length = references.shape
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (nodes + 1) / 2, weights / 2
    hypothetical = np.zeros((n, 4, length))
    contribution = np.zeros(n)
    output = np.zeros(n)
    reference_output = np.zeros(n)
    delta_abs = np.zeros(n)
    pairs_window = np.repeat(np.arange(n), k)
    pairs_ref = np.tile(np.arange(k), n)
    per_batch = max(batch_size // steps, 1)
    gradient = _rc_average if reverse_complement_average else _gradient
    for begin in range(0, n * k, per_batch):
        w = pairs_window[begin : begin + per_batch]
        r = pairs_ref[begin : begin + per_batch]
        x = _one_hot(codes[w], dtype, device)
        ref = _one_hot(references[w, r], dtype, device)
        path = ref[None] + torch.as_tensor(alphas, dtype=dtype, device=device)[:, None, None, None] * (x - ref)[None]
        grads, _ = gradient(model, path.reshape(-1, 4, length), target)
        m = (grads.reshape(steps, len(w), 4, length) * torch.as_tensor(weights, dtype=dtype, device=device)[:, None, None, None]).sum(0)
        hyp = m - (ref * m).sum(dim=1, keepdim=True)
        with torch.no_grad():
            f_x = _forward(model, x, target, reverse_complement_average)
            f_ref = _forward(model, ref, target, reverse_complement_average)
        np.add.at(hypothetical, w, hyp.double().cpu().numpy() / k)
        np.add.at(contribution, w, ((x - ref) * m).sum(dim=(1, 2)).double().cpu().numpy() / k)
        np.add.at(output, w, f_x.double().cpu().numpy() / k)
        np.add.at(reference_output, w, f_ref.double().cpu().numpy() / k)
        np.add.at(delta_abs, w, (f_x - f_ref).abs().double().cpu().numpy() / k)
    x_all = _one_hot(codes, torch.float64, "cpu").numpy()
    actual = hypothetical * x_all
    completeness = np.abs(actual.sum(axis=(1, 2)) - (output - reference_output)) / np.maximum(delta_abs, 1e-12)
    return Attributions(hypothetical.transpose(0, 2, 1).astype(np.float32), actual.transpose(0, 2, 1).astype(np.float32),
                        output, reference_output, completeness)


def _forward(model, x, target, average):
    out = model(x)[:, target]
    if average:
        out = (out + model(torch.flip(x, (1, 2)))[:, target]) / 2
    return out
