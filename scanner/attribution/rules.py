"""DeepLIFT multiplier rules, one per kind of nonlinear module.

Each rule receives the module's stored input(s) and output, each the observed
batch stacked on its reference batch (``[x; x_ref]`` along dim 0), the gradient
torch computed for the inputs, and the upstream multipliers ``grad_output`` (only
the observed half is ever non-zero: backpropagation starts from the observed
outputs). It returns the multipliers for the inputs, observed half first, the
reference half zero. Every rule satisfies summation-to-delta exactly:
``sum(multiplier * delta_in) == delta_out`` for each output, so the chain through
the whole model gives attributions that sum to ``f(x) - f(x_ref)``.

- elementwise (ReLU, sigmoid, tanh, GELU, ...): the rescale rule,
  ``delta_out / delta_in``, or the gradient where the input hardly moves;
- max-pooling: each window's change is split between the observed and the
  reference argmax positions and divided by those positions' changes;
- softmax: the chain a = exp(x - c), s = sum(a), v = 1/s, y = a v, each step exact,
  small changes through ``expm1`` and ``log1p`` so that float32 does not cancel;
- LayerNorm: the chain of the centred input a and v = (var + eps)^-1/2 with the
  product rule y = a v at the midpoint;
- matrix product: the product rule, ``A B - A' B' = mean(A) dB + dA mean(B)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

THRESHOLD = 1e-6  # below this change of the input, a secant falls back to the gradient
THRESHOLD_FLOAT64 = 1e-10


def _threshold(t: torch.Tensor) -> float:
    return THRESHOLD_FLOAT64 if t.dtype == torch.float64 else THRESHOLD


def _halves(t: torch.Tensor):
    return t.chunk(2, dim=0)


def _with_zero_reference(grad: torch.Tensor) -> torch.Tensor:
    return torch.cat([grad, torch.zeros_like(grad)], dim=0)


def elementwise(module, inputs, output, grad_input, grad_output):
    x, x_ref = _halves(inputs[0])
    y, y_ref = _halves(output)
    delta_in, delta_out = x - x_ref, y - y_ref
    upstream = _halves(grad_output[0])[0]
    plain = _halves(grad_input[0])[0]
    moved = delta_in.abs() > _threshold(delta_in)
    safe = torch.where(moved, delta_in, torch.ones_like(delta_in))
    grad = torch.where(moved, upstream * delta_out / safe, plain)
    return (_with_zero_reference(grad),)


def maxpool(module, inputs, output, grad_input, grad_output):
    stacked = inputs[0]
    x, x_ref = _halves(stacked)
    y, y_ref = _halves(output)
    upstream = _halves(grad_output[0])[0]
    if isinstance(module, nn.AdaptiveMaxPool1d):
        _, index = F.adaptive_max_pool1d(stacked, module.output_size, return_indices=True)
    else:
        _, index = F.max_pool1d(stacked, module.kernel_size, module.stride, module.padding, module.dilation,
                                module.ceil_mode, return_indices=True)
    index_x, index_ref = _halves(index)
    top = torch.maximum(y, y_ref)
    routed = torch.zeros_like(x)
    routed.scatter_add_(-1, index_x, upstream * (top - y_ref))
    routed.scatter_add_(-1, index_ref, upstream * (y - top))
    delta_in = x - x_ref
    plain = _halves(grad_input[0])[0]
    safe = torch.where(delta_in == 0, torch.ones_like(delta_in), delta_in)
    grad = torch.where(delta_in == 0, plain, routed / safe)
    return (_with_zero_reference(grad),)


def _exp_secant(d: torch.Tensor, limit: float) -> torch.Tensor:
    """(exp(d) - 1) / d, 1 where |d| <= limit (or d is nan)."""
    moved = d.abs() > limit
    return torch.where(moved, torch.expm1(d) / torch.where(moved, d, 1.0), 1.0)


def _log1p_secant(r: torch.Tensor, limit: float) -> torch.Tensor:
    """log(1 + r) / r, 1 where |r| <= limit."""
    moved = r.abs() > limit
    return torch.where(moved, torch.log1p(r) / torch.where(moved, r, 1.0), 1.0)


def softmax(module, inputs, output, grad_input, grad_output):
    dim = module.dim if module.dim >= 0 else inputs[0].ndim + module.dim
    if dim == 0:
        raise ValueError("softmax over the batch axis cannot be attributed")
    x, x_ref = _halves(inputs[0])
    upstream = _halves(grad_output[0])[0]
    c = torch.maximum(x.amax(dim=dim, keepdim=True), x_ref.amax(dim=dim, keepdim=True))
    a, a_ref = torch.exp(x - c), torch.exp(x_ref - c)
    s, s_ref = a.sum(dim=dim, keepdim=True), a_ref.sum(dim=dim, keepdim=True)
    tiny = torch.finfo(s.dtype).tiny
    v, v_ref = s.clamp_min(tiny).reciprocal(), s_ref.clamp_min(tiny).reciprocal()
    y, y_ref = a * v, a_ref * v_ref
    # y = exp(log y) with log y = x - c + log v: every step a one-variable secant.
    # Differences of nearby exponentials and logarithms cancel (in float32 a change
    # of 1e-5 keeps one digit), so small changes go through expm1 and log1p of the
    # change itself; large ones (|change| >= 1, or infinite) divide the differences.
    limit = _threshold(x)
    delta_x = torch.where(x == x_ref, 0.0, x - x_ref)  # a position masked (-inf) in both has not moved
    far_x = delta_x.abs() >= 1
    delta_a = torch.where(far_x, a - a_ref, a_ref * torch.expm1(delta_x))
    a_per_x = torch.where(far_x, delta_a / torch.where(far_x, delta_x, 1.0), a_ref * _exp_secant(delta_x, limit))
    delta_s = delta_a.sum(dim=dim, keepdim=True)
    ratio = delta_s * v_ref  # s / s' - 1
    far_s = ratio.abs() >= 0.5
    delta_log_v = torch.where(far_s, torch.log(v) - torch.log(v_ref), -torch.log1p(ratio))
    # d(log v) / ds, the chain through v = 1/s in one secant
    log_v_per_s = torch.where(far_s, delta_log_v / torch.where(far_s, delta_s, 1.0),
                              -v_ref * _log1p_secant(ratio, limit))
    delta_log_y = delta_x + delta_log_v
    far_y = delta_log_y.abs() >= 1
    y_per_log_y = torch.where(far_y, (y - y_ref) / torch.where(far_y, delta_log_y, 1.0),
                              y_ref * _exp_secant(delta_log_y, limit))
    through_log_y = upstream * y_per_log_y
    grad = through_log_y + a_per_x * (through_log_y * log_v_per_s).sum(dim=dim, keepdim=True)
    return (_with_zero_reference(grad),)


def layernorm(module, inputs, output, grad_input, grad_output):
    x, x_ref = _halves(inputs[0])
    upstream = _halves(grad_output[0])[0]
    dims = tuple(range(-len(module.normalized_shape), 0))
    size = 1
    for n in module.normalized_shape:
        size *= n
    a = x - x.mean(dim=dims, keepdim=True)
    a_ref = x_ref - x_ref.mean(dim=dims, keepdim=True)
    v = ((a * a).mean(dim=dims, keepdim=True) + module.eps).rsqrt()
    v_ref = ((a_ref * a_ref).mean(dim=dims, keepdim=True) + module.eps).rsqrt()
    g = upstream * module.weight if module.weight is not None else upstream
    v_mid = (v + v_ref) / 2
    a_sum = a + a_ref
    # dv / d(var) as a secant in closed form: (v - v') / (v^-2 - v'^-2) = -v^2 v'^2 / (v + v')
    v_per_var = -(v * v) * (v_ref * v_ref) / (v + v_ref)
    centred = g - g.mean(dim=dims, keepdim=True)
    grad = v_mid * centred + v_per_var * a_sum / size * ((g * a_sum / 2).sum(dim=dims, keepdim=True))
    return (_with_zero_reference(grad),)


def product(module, inputs, output, grad_input, grad_output):
    pairs = output.shape[0]
    upstream = _halves(grad_output[0])[0]

    def midpoint(operand):
        if operand.shape[0] == pairs:  # stacked observed and reference
            half, half_ref = _halves(operand)
            return ((half + half_ref) / 2).detach().requires_grad_(True), True
        return operand.detach().requires_grad_(True), False  # a constant shared by the batch

    (left, left_varies), (right, right_varies) = midpoint(inputs[0]), midpoint(inputs[1])
    with torch.enable_grad():
        out = torch.matmul(left, right)
        grad_left, grad_right = torch.autograd.grad(out, (left, right), grad_outputs=upstream)
    return (
        _with_zero_reference(grad_left) if left_varies else None,
        _with_zero_reference(grad_right) if right_varies else None,
    )


def rule_for(module: nn.Module):
    """The rule function of a module the audit accepted as nonlinear."""
    from ..models.layers import MatMul
    from .audit import ELEMENTWISE, POOLS

    if isinstance(module, ELEMENTWISE):
        return elementwise
    if isinstance(module, POOLS):
        return maxpool
    if isinstance(module, nn.Softmax):
        return softmax
    if isinstance(module, nn.LayerNorm):
        return layernorm
    if isinstance(module, MatMul):
        return product
    raise TypeError(f"no DeepLIFT rule for {type(module).__name__}")


# Precomputed forms of the two rules DeepCRE-like models are made of. With every
# reference's activations at hand (one batched forward pass), the multipliers that
# do not depend on the upstream gradient are computed once for all references, and
# each backward pass only applies them.


def prepare_elementwise(x_in, x_out, ref_in, ref_out):
    """Secants of every reference (leading dim k) against the observed activations."""
    # in place where possible: these tensors are (references x windows x channels x positions)
    delta_in = x_in[None] - ref_in
    secant = torch.sub(x_out[None], ref_out).div_(delta_in)  # inf/nan where the input did not move: masked below
    moved = delta_in.abs_() > _threshold(delta_in)
    return {"moved": moved, "secant": secant}


def apply_elementwise(prepared, index, grad_input, grad_output):
    moved = prepared["moved"][index]
    return (torch.where(moved, grad_output[0] * prepared["secant"][index], grad_input[0]),)


def _pool_indices(module, x):
    if isinstance(module, nn.AdaptiveMaxPool1d):
        return F.adaptive_max_pool1d(x, module.output_size, return_indices=True)[1]
    return F.max_pool1d(x, module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode,
                        return_indices=True)[1]


def prepare_maxpool(module, x_in, x_out, ref_in, ref_out):
    """Routing of each window's change to the observed and reference argmax positions, per reference."""
    k = ref_in.shape[0]
    index_x = _pool_indices(module, x_in)
    index_ref = _pool_indices(module, ref_in.reshape(-1, *ref_in.shape[2:])).reshape(k, *x_out.shape)
    top = torch.maximum(x_out[None], ref_out)
    delta_in = x_in[None] - ref_in
    still = delta_in == 0  # exact: a window and its references come from one forward pass
    return {"index_x": index_x, "index_ref": index_ref, "to_x": top - ref_out, "to_ref": x_out[None] - top,
            "still": still, "inverse": 1.0 / torch.where(still, torch.ones_like(delta_in), delta_in)}


def apply_maxpool(prepared, index, grad_input, grad_output):
    upstream = grad_output[0]
    routed = torch.zeros_like(grad_input[0])
    routed.scatter_add_(-1, prepared["index_x"], upstream * prepared["to_x"][index])
    routed.scatter_add_(-1, prepared["index_ref"][index], upstream * prepared["to_ref"][index])
    return (torch.where(prepared["still"][index], grad_input[0], routed * prepared["inverse"][index]),)
