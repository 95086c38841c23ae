"""Fast in-silico mutagenesis for convolutional trunks: recompute only what a mutation changes.

A base change at position p changes a convolution's output only within its
kernel's reach of p, a max-pool's only in the windows holding those positions,
an elementwise layer's only where its input changed. So each mutant is carried
through the trunk as a narrow slice (a start and a fixed width per layer) that
holds every changed value; the rest of each layer's output is the unmutated
sequence's, computed once. At the end of the trunk the slice is spliced into the
unmutated output and the (small) head runs in full.

Models qualify when they are ``head(flatten(features(x)))`` with ``features`` an
``nn.Sequential`` of 1-D convolutions ('same' or explicitly padded), elementwise
nonlinearities, dropout and max-pooling with stride equal to its size (DeepCRE);
:func:`supports_fast_ism` says whether a model does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..genome.alphabet import BASE_BITS
from .audit import ELEMENTWISE
from .deeplift import Attributions, _one_hot
from .ism import ism_attributions


def _layers(model: nn.Module) -> list[nn.Module] | None:
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential) or not hasattr(model, "flatten") or not hasattr(model, "head"):
        return None
    layers = []
    for layer in features:
        if isinstance(layer, nn.Sequential) and len(layer) == 2 and isinstance(layer[0], nn.ConstantPad1d) \
                and isinstance(layer[1], nn.Conv1d) and layer[0].value == 0:
            layers.append(("conv", layer[1], layer[0].padding[0], layer[0].padding[1]))
        elif isinstance(layer, nn.Conv1d) and layer.stride == (1,) and layer.groups == 1:
            if layer.padding == "same":
                reach = layer.dilation[0] * (layer.kernel_size[0] - 1)
                layers.append(("conv", _valid(layer), reach // 2, reach - reach // 2))
            elif isinstance(layer.padding, tuple):
                layers.append(("conv", _valid(layer), layer.padding[0], layer.padding[0]))
            else:
                return None
        elif isinstance(layer, ELEMENTWISE) or isinstance(layer, (nn.Dropout, nn.Identity)):
            layers.append(("pointwise", layer))
        elif isinstance(layer, nn.MaxPool1d) and layer.stride == layer.kernel_size and layer.padding == 0 \
                and layer.dilation == 1:
            layers.append(("pool", layer))
        else:
            return None
    return layers


def _valid(conv: nn.Conv1d) -> nn.Conv1d:
    twin = nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size, dilation=conv.dilation,
                     bias=conv.bias is not None).to(conv.weight.device, conv.weight.dtype)
    twin.weight = conv.weight
    twin.bias = conv.bias
    return twin


def supports_fast_ism(model: nn.Module) -> bool:
    """Whether ``model`` is a convolutional trunk + flatten + head the fast path handles."""
    return _layers(model) is not None


def _gather(reference: torch.Tensor, start: torch.Tensor, width: int, fill: float) -> torch.Tensor:
    """Slices ``reference[:, start:start+width]`` per mutant, ``fill`` outside ``[0, L)``: (M, C, width)."""
    channels, length = reference.shape
    index = start[:, None] + torch.arange(width, device=start.device)[None]
    inside = (index >= 0) & (index < length)
    picked = reference[:, index.clamp(0, length - 1)].permute(1, 0, 2)
    return torch.where(inside[:, None, :], picked, torch.full_like(picked, fill))


def _place(target: torch.Tensor, target_start: torch.Tensor, values: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """Write each mutant's ``values`` (at ``start``) into its slice ``target`` (at ``target_start``)."""
    offset = (start - target_start)[:, None] + torch.arange(values.shape[2], device=values.device)[None]
    index = offset[:, None, :].expand(-1, values.shape[1], -1)
    return target.scatter(2, index, values)


def fast_ism(model: nn.Module, codes: np.ndarray, *, target: int = 0, batch_size: int = 1024,
             dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu", fixed: np.ndarray | None = None,
             reverse_complement_average: bool = False) -> Attributions:
    """In-silico mutagenesis computing only what each mutation changes; equal to :func:`scanner.attribution.ism.ism`.

    Parameters and result as :func:`scanner.attribution.ism.ism`.
    """
    layers = _layers(model)
    if layers is None:
        raise ValueError("fast ISM needs a model of the form head(flatten(features(x))) with a convolutional trunk")
    if reverse_complement_average:
        forward = fast_ism(model, codes, target=target, batch_size=batch_size, dtype=dtype, device=device, fixed=fixed)
        from ..genome.encoding import reverse_complement

        reverse = fast_ism(model, reverse_complement(codes), target=target, batch_size=batch_size, dtype=dtype,
                           device=device, fixed=None if fixed is None else fixed[::-1].copy())
        # a mutation to base b at p is the mutation to the complement of b at L-1-p of the reverse strand
        delta = ((forward.hypothetical + reverse.hypothetical[:, ::-1, ::-1]) / 2).astype(np.float32)
        return ism_attributions(delta, codes & BASE_BITS, (forward.output + reverse.output) / 2)
    device = torch.device(device)
    model = model.to(device=device, dtype=dtype).eval()
    n, length = codes.shape
    base = codes & BASE_BITS
    fixed = np.zeros(length, bool) if fixed is None else fixed
    delta = np.zeros((n, length, 4), np.float32)
    output = np.empty(n)
    with torch.no_grad():
        for w in range(n):
            x = _one_hot(base[w : w + 1], dtype, device)[0]
            activations = [x]
            for layer in layers:
                activations.append(_apply_full(layer, activations[-1]))
            reference_out = model.head(model.flatten(activations[-1][None]))[0, target]
            output[w] = float(reference_out)
            positions, bases = np.nonzero((base[w][:, None] != np.arange(4)[None]) & ~fixed[:, None])
            for begin in range(0, len(positions), batch_size):
                p = torch.as_tensor(positions[begin : begin + batch_size], device=device)
                b = torch.as_tensor(bases[begin : begin + batch_size], device=device)
                values = torch.zeros(len(p), 4, 1, dtype=dtype, device=device)
                values[torch.arange(len(p), device=device), b, 0] = 1
                start = p.clone()
                for i, layer in enumerate(layers):
                    start, values = _apply_slice(layer, activations[i], activations[i + 1], start, values)
                full = activations[-1][None].expand(len(p), -1, -1)
                gathered_start = torch.zeros_like(start)
                trunk = _place(full.contiguous(), gathered_start, values, start)
                out = model.head(model.flatten(trunk))[:, target]
                delta[w, positions[begin : begin + batch_size], bases[begin : begin + batch_size]] = (
                    out - reference_out).float().cpu().numpy()
    return ism_attributions(delta, base, output)


def _apply_full(layer, x: torch.Tensor) -> torch.Tensor:
    kind = layer[0]
    if kind == "conv":
        _, conv, left, right = layer
        return conv(nn.functional.pad(x[None], (left, right)))[0]
    return layer[1](x[None])[0]


def _apply_slice(layer, reference_in, reference_out, start, values):
    """Carry mutant slices (``start``, ``values`` (M, C, w)) through one layer."""
    kind = layer[0]
    length_out = reference_out.shape[1]
    if kind == "pointwise":
        return start, layer[1](values)
    if kind == "conv":
        _, conv, left, right = layer
        reach = conv.dilation[0] * (conv.kernel_size[0] - 1)
        width = min(values.shape[2] + reach, length_out)
        out_start = (start - (reach - left)).clamp(0, length_out - width)
        window = _gather(reference_in, out_start - left, width + reach, 0.0)
        window = _place(window, out_start - left, values, start)
        return out_start, conv(window)
    pool = layer[1]
    k = pool.kernel_size if isinstance(pool.kernel_size, int) else pool.kernel_size[0]
    width = min((values.shape[2] + k - 2) // k + 1, length_out)
    out_start = torch.div(start, k, rounding_mode="floor").clamp(0, length_out - width)
    window = _gather(reference_in, out_start * k, width * k, float("-inf"))
    window = _place(window, out_start * k, values, start)
    return out_start, nn.functional.max_pool1d(window, k, k)
