"""In-silico mutagenesis: every base changed to each alternative.

``delta[w, p, b] = f(x with base b at p) - f(x)``; zero at the base already there.
Positions holding N (not sequence) get all four bases as mutations; masked layout
positions are left alone (their delta is zero), since the model never sees a base
there.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..genome.alphabet import BASE_BITS, N
from .deeplift import Attributions, _one_hot


def ism(model: nn.Module, codes: np.ndarray, *, target: int = 0, batch_size: int = 256,
        dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu", fixed: np.ndarray | None = None,
        reverse_complement_average: bool = False, fast: bool | None = None) -> Attributions:
    """In-silico mutagenesis, batched over mutants.

    Convolutional trunks (DeepCRE and its kind) take the fast path of
    :func:`scanner.attribution.fast_ism.fast_ism`, which recomputes only what each
    mutation changes; other models run every mutant in full.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, L)``.
    codes : ndarray of uint8, shape (n, L)
    fixed : ndarray of bool, shape (L,), optional
        Layout positions not mutated.
    fast : bool, optional
        Force (True) or forbid (False) the fast path; default: when the model allows it.

    Returns
    -------
    Attributions
        ``hypothetical`` holds the deltas ``(n, L, 4)``; ``actual`` is zero except
        at N positions (ISM's deltas of the present base are zero by definition),
        so users take ``hypothetical`` (or its mean-centred form) as the track.
    """
    from .fast_ism import fast_ism, supports_fast_ism

    if fast or (fast is None and supports_fast_ism(model)):
        return fast_ism(model, codes, target=target, batch_size=max(batch_size, 1024), dtype=dtype, device=device,
                        fixed=fixed, reverse_complement_average=reverse_complement_average)
    device = torch.device(device)
    model = model.to(device=device, dtype=dtype).eval()
    n, length = codes.shape
    base = codes & BASE_BITS
    fixed = np.zeros(length, bool) if fixed is None else fixed
    delta = np.zeros((n, length, 4), np.float32)
    output = np.empty(n)

    def forward(x):
        out = model(x)[:, target]
        if reverse_complement_average:
            out = (out + model(torch.flip(x, (1, 2)))[:, target]) / 2
        return out

    with torch.no_grad():
        for w in range(n):
            x = _one_hot(base[w : w + 1], dtype, device)
            reference = float(forward(x)[0])
            output[w] = reference
            positions, bases = np.nonzero((base[w][:, None] != np.arange(4)[None]) & ~fixed[:, None])
            for begin in range(0, len(positions), batch_size):
                p = torch.as_tensor(positions[begin : begin + batch_size], device=device)
                b = torch.as_tensor(bases[begin : begin + batch_size], device=device)
                mutants = x.repeat(len(p), 1, 1)
                rows = torch.arange(len(p), device=device)
                mutants[rows, :, p] = 0
                mutants[rows, b, p] = 1
                delta[w, positions[begin : begin + batch_size], bases[begin : begin + batch_size]] = (
                    forward(mutants) - reference
                ).float().cpu().numpy()
    return ism_attributions(delta, base, output)


def ism_attributions(delta: np.ndarray, base: np.ndarray, output: np.ndarray) -> Attributions:
    """Package ISM deltas (n, L, 4): ``actual`` is the delta at N positions only."""
    nan = np.full(len(output), np.nan)
    actual = np.where((base >= N)[:, :, None], delta, 0.0).astype(np.float32)
    return Attributions(delta, actual, output, nan, nan)
