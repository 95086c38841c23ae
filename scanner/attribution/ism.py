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
        reverse_complement_average: bool = False) -> Attributions:
    """Naive in-silico mutagenesis, batched over mutants.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 4, L)``.
    codes : ndarray of uint8, shape (n, L)
    fixed : ndarray of bool, shape (L,), optional
        Layout positions not mutated.

    Returns
    -------
    Attributions
        ``hypothetical`` holds the deltas ``(n, L, 4)``; ``actual`` is zero except
        at N positions (ISM's deltas of the present base are zero by definition),
        so users take ``hypothetical`` (or its mean-centred form) as the track.
    """
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
    nan = np.full(n, np.nan)
    actual = np.where((base >= N)[:, :, None], delta, 0.0).astype(np.float32)
    return Attributions(delta, actual, output, nan, nan)
