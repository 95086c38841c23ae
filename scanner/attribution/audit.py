"""Auditing a model's graph before DeepLIFT: every operation must have a rule.

The model is traced with ``torch.fx``. Built-in layers with a DeepLIFT rule
(ReLU and other elementwise nonlinearities, max-pooling, softmax, LayerNorm, the
explicit matrix product) and linear layers (convolutions, dense layers, batch
norm in eval mode, dropout, padding, pooling by averages) stay leaves; everything
else is traced into its operations, and each operation must be linear in the
input (sums, concatenations, reshapes, products with constants). Anything else --
a functional ``F.relu``, ``exp``, a product of two input-dependent tensors, a
module called twice in one pass -- is refused with its name and where it is, so
attributions are never silently computed with an operation treated as linear.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
import torch.fx
from torch import nn

from ..models.layers import MatMul


class AttributionError(ValueError):
    """A model or input that an attribution method cannot handle correctly."""


ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Softplus, nn.ELU, nn.SiLU, nn.LeakyReLU)
POOLS = (nn.MaxPool1d, nn.AdaptiveMaxPool1d)
RULE_MODULES = ELEMENTWISE + POOLS + (nn.Softmax, nn.LayerNorm, MatMul)
LINEAR_MODULES = (
    nn.Conv1d, nn.Linear, nn.Dropout, nn.Identity, nn.Flatten, nn.Unflatten, nn.ConstantPad1d,
    nn.ZeroPad1d, nn.BatchNorm1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d,
)
LINEAR_FUNCTIONS = {
    operator.add, operator.sub, operator.neg, operator.pos, operator.getitem,
    torch.add, torch.sub, torch.cat, torch.stack, torch.flatten, torch.transpose, torch.reshape, torch.squeeze,
    torch.unsqueeze, torch.flip, torch.sum, torch.mean, torch.permute, torch.narrow,
}
SCALING_FUNCTIONS = {operator.mul, operator.truediv, torch.mul, torch.div, operator.matmul, torch.matmul, torch.einsum}
LINEAR_METHODS = {
    "transpose", "reshape", "view", "flatten", "permute", "contiguous", "expand", "expand_as", "squeeze", "unsqueeze",
    "sum", "mean", "chunk", "split", "clone", "float", "to", "type_as", "narrow", "flip", "repeat", "__getitem__",
    "add", "sub", "neg",
}
SCALING_METHODS = {"mul", "div", "matmul", "__mul__", "__truediv__"}
SHAPE_METHODS = {"size", "dim"}


@dataclass(frozen=True)
class AuditReport:
    """What the audit found: the rule-bearing modules by name and their rule."""

    rules: dict[str, str]


class _Tracer:
    @staticmethod
    def make():
        import torch.fx

        class Tracer(torch.fx.Tracer):
            def is_leaf_module(self, module, qualified_name):
                return isinstance(module, RULE_MODULES + LINEAR_MODULES)

        return Tracer()


def _module_path(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return " > ".join(stack.keys()) if stack else "the model's forward"


def audit_model(model: nn.Module, *, where: str = "model") -> AuditReport:
    """Check that DeepLIFT has a rule for every operation of ``model``.

    Raises
    ------
    AttributionError
        Naming the first operation without a rule (and the module it is in), or a
        module the rules cannot use (in-place nonlinearity, a module called twice,
        batch norm in training mode, a model that cannot be traced).
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise AttributionError(
            f"{where}: a TorchScript model cannot be audited for DeepLIFT; use gradient methods "
            "(--method gradient or integrated-gradients) or in-silico mutagenesis (--method ism)"
        )
    try:
        graph = _Tracer.make().trace(model)
    except Exception as error:
        raise AttributionError(
            f"{where}: the model could not be traced to audit it for DeepLIFT ({type(error).__name__}: {error}); "
            "use gradient methods or ISM"
        ) from None
    modules = dict(model.named_modules())
    depends: dict[str, bool] = {}
    shape_like: dict[str, bool] = {}
    calls: dict[str, int] = {}
    rules: dict[str, str] = {}
    hint = "; use gradient methods (--method gradient / integrated-gradients) or ISM, or write it with a module that has a rule"

    def tensor_args(node):
        found = []
        for arg in _flatten(node.args, node.kwargs):
            if isinstance(arg, torch.fx.Node) and depends.get(arg.name) and not shape_like.get(arg.name):
                found.append(arg)
        return found

    for node in graph.nodes:
        inputs = tensor_args(node)
        shape_like[node.name] = False
        if node.op == "placeholder":
            depends[node.name] = True
            continue
        if node.op in ("get_attr", "output"):
            depends[node.name] = False if node.op == "get_attr" else True
            continue
        if (node.op == "call_method" and node.target in SHAPE_METHODS) or (
            node.op == "call_function" and node.target is getattr and node.args[1] in ("shape", "ndim", "dtype", "device")
        ):
            depends[node.name], shape_like[node.name] = False, True  # sizes, not values
            continue
        depends[node.name] = bool(inputs)
        if not inputs:
            shape_like[node.name] = any(
                isinstance(a, torch.fx.Node) and shape_like.get(a.name) for a in _flatten(node.args, node.kwargs)
            )
            continue
        if node.op == "call_module":
            module = modules[node.target]
            calls[node.target] = calls.get(node.target, 0) + 1
            if calls[node.target] > 1 and isinstance(module, RULE_MODULES):
                raise AttributionError(f"{where}: module '{node.target}' ({type(module).__name__}) is called more than once in one forward pass; DeepLIFT needs one module per call")
            if isinstance(module, RULE_MODULES):
                if getattr(module, "inplace", False):
                    raise AttributionError(f"{where}: module '{node.target}' ({type(module).__name__}) works in place; DeepLIFT needs inplace=False")
                rules[node.target] = type(module).__name__
            elif isinstance(module, nn.BatchNorm1d) and module.training:
                raise AttributionError(f"{where}: batch norm '{node.target}' is in training mode; put the model in eval mode")
            elif not isinstance(module, LINEAR_MODULES):  # pragma: no cover - leaves are only the two sets
                raise AttributionError(f"{where}: module '{node.target}' ({type(module).__name__}) has no DeepLIFT rule{hint}")
            continue
        if node.op == "call_method" and node.target == "__call__":  # pragma: no cover
            raise AttributionError(f"{where}: opaque call at {_module_path(node)}{hint}")
        name = node.target if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        linear = (node.op == "call_function" and node.target in LINEAR_FUNCTIONS) or (
            node.op == "call_method" and node.target in LINEAR_METHODS)
        scaling = (node.op == "call_function" and node.target in SCALING_FUNCTIONS) or (
            node.op == "call_method" and node.target in SCALING_METHODS)
        if linear:
            continue
        if scaling and len(inputs) == 1:
            if node.target in (operator.truediv, torch.div, "div", "__truediv__") and node.args and node.args[0] is not inputs[0]:
                raise AttributionError(f"{where}: division by an input-dependent tensor ('{name}' in {_module_path(node)}) has no DeepLIFT rule{hint}")
            continue
        if scaling:
            raise AttributionError(
                f"{where}: '{name}' of two input-dependent tensors in {_module_path(node)} has no DeepLIFT rule; "
                f"write it with scanner.models.layers.MatMul (the product rule) or use gradient methods or ISM"
            )
        raise AttributionError(f"{where}: operation '{name}' in {_module_path(node)} has no DeepLIFT rule{hint}")
    return AuditReport(rules)


def _flatten(args, kwargs):
    out = []

    def walk(value):
        if isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        else:
            out.append(value)

    walk(args)
    walk(kwargs)
    return out
