"""Attribution methods: DeepLIFT/SHAP against tangermeme, completeness, the audit,
gradients and ISM against slow references."""

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from scanner.attribution.audit import AttributionError, audit_model
from scanner.attribution.deeplift import deeplift_shap
from scanner.attribution.gradients import gradient_x_input, integrated_gradients
from scanner.attribution.ism import ism
from scanner.attribution.shuffle import dinucleotide_shuffles
from scanner.models.architectures import build_model
from scanner.models.layers import MatMul
from scanner.models.training import one_hot_batch


class SmallCNN(nn.Module):
    """A small CNN with a ReLU feeding a MaxPool directly, as every DeepCRE block does."""

    def __init__(self, length=120):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 7, padding=3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(8 * (length // 4), 2)

    def forward(self, x):
        return self.dense(self.flatten(self.relu2(self.conv2(self.pool(self.relu(self.conv(x)))))))


MODELS = {
    "small_cnn": lambda: SmallCNN(),
    "deepcre": lambda: build_model("deepcre"),
    "hybrid": lambda: build_model("deepplantcre", input_length=400, token_pool=8, layers=2),
}


def inputs(length, n=3, k=4, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    codes[0, 10:14] = 4  # a run of N stays N in every reference
    return codes, dinucleotide_shuffles(codes, np.arange(n) + seed, k)


def tangermeme_model(model):
    """The same model with our explicit matrix products as tangermeme's BilinearOp."""
    from tangermeme.deep_lift_shap import BilinearOp

    twin = copy.deepcopy(model)
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, MatMul):
                setattr(module, name, BilinearOp())
    return twin


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_deeplift_shap_equals_tangermeme_and_is_complete(name, dtype):
    pytest.importorskip("tangermeme")
    from tangermeme.deep_lift_shap import deep_lift_shap

    torch.manual_seed(0)
    model = MODELS[name]().eval()
    length = 120 if name == "small_cnn" else model.input_length
    codes, references = inputs(length)
    ours = deeplift_shap(model, codes, references, target=0, dtype=dtype, batch_size=5)
    n, k, _ = references.shape
    x = one_hot_batch(codes, dtype=dtype)
    refs = one_hot_batch(references.reshape(n * k, length), dtype=dtype).reshape(n, k, 4, length)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = deep_lift_shap(tangermeme_model(model).to(dtype), x, references=refs, target=0, hypothetical=True,
                                dtype=dtype, device="cpu", batch_size=8, only_warn=True).numpy().transpose(0, 2, 1)
    assert np.corrcoef(ours.hypothetical.ravel(), theirs.ravel())[0, 1] > 0.9999
    limit = 1e-4 if dtype == torch.float32 else 1e-10
    assert np.all(ours.completeness <= limit), ours.completeness
    assert np.allclose(ours.actual.sum(axis=(1, 2)), ours.output - ours.reference_output,
                       rtol=1e-3 if dtype == torch.float32 else 1e-9, atol=1e-7)
    assert np.all(ours.actual[0, 10:14] == 0)  # N positions contribute nothing


@pytest.mark.parametrize("name", sorted(MODELS))
def test_deeplift_float32_agrees_with_float64(name):
    """Rounding in float32 must stay rounding. A max-pool input that is equal in a
    window and its reference (equal local sequence, the N run) has to come out
    bitwise equal, which one forward pass for both guarantees and two batches of
    different sizes do not; softmax secants must not cancel."""
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    length = 120 if name == "small_cnn" else model.input_length
    codes, references = inputs(length)
    single = deeplift_shap(model, codes, references, dtype=torch.float32, batch_size=5)
    double = deeplift_shap(model, codes, references, dtype=torch.float64, batch_size=5)
    assert np.corrcoef(single.hypothetical.ravel(), double.hypothetical.ravel())[0, 1] > 0.99999
    assert np.all(single.completeness <= 1e-4), single.completeness


def test_softmax_rule_is_well_conditioned_in_float32():
    from scanner.attribution import rules

    torch.manual_seed(0)
    module = nn.Softmax(dim=-1)
    steps = torch.tensor([0, 1e-9, 1e-7, 1e-6, 3e-6, 1e-5, 1e-4, 1e-3, 0.1, 0.9, 1.1, 3, 30], dtype=torch.float64)
    x = 3 * torch.randn(200, len(steps), dtype=torch.float64)
    x_ref = x + steps * torch.randn(200, len(steps), dtype=torch.float64)
    upstream = torch.randn(200, len(steps), dtype=torch.float64)

    def multipliers(dtype):
        stacked = torch.cat([x, x_ref]).to(dtype)
        grad = torch.cat([upstream, torch.zeros_like(upstream)]).to(dtype)
        return rules.softmax(module, (stacked,), module(stacked), (torch.zeros_like(grad),), (grad,))[0][:200], stacked

    double, stacked = multipliers(torch.float64)
    y = module(stacked)
    assert torch.allclose((double * (x - x_ref)).sum(-1), (upstream * (y[:200] - y[200:])).sum(-1), rtol=1e-9, atol=1e-12)
    single, _ = multipliers(torch.float32)
    assert ((single.double() - double).norm() / double.norm()).item() < 1e-5


def test_argminn_and_regioncnn_are_complete():
    for model in (build_model("argminn", input_length=150), build_model("regioncnn", input_length=150)):
        torch.manual_seed(0)
        codes, references = inputs(150)
        result = deeplift_shap(model.eval(), codes, references, dtype=torch.float64)
        assert np.all(result.completeness < 1e-10), result.completeness


def test_strand_average_is_complete_and_symmetric():
    torch.manual_seed(0)
    model = SmallCNN().eval()
    codes, references = inputs(120)
    result = deeplift_shap(model, codes, references, dtype=torch.float64, reverse_complement_average=True)
    assert np.all(result.completeness < 1e-10)
    from scanner.genome.encoding import reverse_complement

    reverse = reverse_complement(codes)
    ref_reverse = reverse_complement(references.reshape(-1, 120)).reshape(references.shape)
    mirrored = deeplift_shap(model, reverse, ref_reverse, dtype=torch.float64, reverse_complement_average=True)
    assert np.allclose(mirrored.hypothetical, result.hypothetical[:, ::-1, ::-1], atol=1e-6)


def test_batch_size_does_not_change_deeplift():
    torch.manual_seed(1)
    model = SmallCNN().eval()
    codes, references = inputs(120, n=4)
    a = deeplift_shap(model, codes, references, batch_size=3)
    b = deeplift_shap(model, codes, references, batch_size=16)
    assert np.allclose(a.hypothetical, b.hypothetical, atol=1e-6)


class Squares(nn.Module):
    """A model whose nonlinearity is a functional call: no DeepLIFT rule."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 3)

    def forward(self, x):
        return torch.exp(self.conv(x)).sum(dim=2)


class TwoInputProduct(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(4, 2, 3)
        self.b = nn.Conv1d(4, 2, 3)

    def forward(self, x):
        return (self.a(x) * self.b(x)).sum(dim=2)


class ReusedReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(4, 4, 3)
        self.b = nn.Conv1d(4, 2, 3)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.b(self.relu(self.a(x)))).sum(dim=2)


@pytest.mark.parametrize(
    "model,message",
    [(Squares(), "operation 'exp'"), (TwoInputProduct(), "'mul' of two input-dependent tensors"),
     (ReusedReLU(), "module 'relu' .* called more than once"), (nn.Sequential(nn.Conv1d(4, 2, 3), nn.ReLU(inplace=True)), "in place")],
)
def test_models_without_rules_are_refused(model, message):
    with pytest.raises(AttributionError, match=message):
        audit_model(model.eval())
    with pytest.raises(AttributionError):
        deeplift_shap(model.eval(), np.zeros((1, 20), np.uint8), np.zeros((1, 2, 20), np.uint8))


def test_the_zoo_passes_the_audit():
    for name in ("deepcre", "deepplantcre", "argminn", "regioncnn"):
        rules = audit_model(build_model(name).eval()).rules
        assert "ReLU" in rules.values()
    assert "MatMul" in audit_model(build_model("deepplantcre").eval()).rules.values()


def test_torchscript_models_are_refused_for_deeplift():
    scripted = torch.jit.script(SmallCNN().eval())
    with pytest.raises(AttributionError, match="TorchScript"):
        audit_model(scripted)


def _slow_gradient(model, codes):
    out = []
    for row in codes:
        x = one_hot_batch(row[None]).requires_grad_(True)
        model(x)[0, 0].backward()
        out.append(x.grad[0].numpy().T)
    return np.array(out)


def test_gradient_x_input_against_a_slow_loop():
    torch.manual_seed(0)
    model = SmallCNN().eval()
    codes, _ = inputs(120)
    result = gradient_x_input(model, codes, batch_size=2)
    grad = _slow_gradient(model, codes)
    centred = grad - grad.mean(axis=2, keepdims=True)
    assert np.allclose(result.hypothetical, centred, atol=1e-6)
    one_hot = one_hot_batch(codes).numpy().transpose(0, 2, 1)
    assert np.allclose(result.actual, centred * one_hot, atol=1e-6)


def test_integrated_gradients_converge_to_completeness():
    # on a smooth model Gauss-Legendre nodes converge fast; kinks (ReLU, max) slow it to ~1/steps
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 6, 5), nn.Tanh(), nn.Conv1d(6, 2, 5), nn.Flatten(), nn.Linear(2 * 112, 1)).eval()
    codes, references = inputs(120, n=2, k=2)
    coarse = integrated_gradients(model, codes, references, steps=2, dtype=torch.float64)
    fine = integrated_gradients(model, codes, references, steps=16, dtype=torch.float64)
    assert fine.completeness.max() < coarse.completeness.max()
    assert fine.completeness.max() < 1e-8


def test_ism_against_explicit_mutants():
    torch.manual_seed(0)
    model = SmallCNN().eval()
    codes, _ = inputs(120, n=2)
    fixed = np.zeros(120, bool)
    fixed[50] = True
    result = ism(model, codes, batch_size=37, fixed=fixed, fast=False)
    with torch.no_grad():
        for w in range(2):
            base = float(model(one_hot_batch(codes[w : w + 1]))[0, 0])
            for p in (0, 11, 49, 119):
                for b in range(4):
                    mutant = codes[w].copy()
                    mutant[p] = b
                    expected = 0.0 if codes[w, p] == b else float(model(one_hot_batch(mutant[None]))[0, 0]) - base
                    assert result.hypothetical[w, p, b] == pytest.approx(expected, abs=1e-5)
    assert np.all(result.hypothetical[:, 50] == 0)


@pytest.mark.parametrize("strand_average", [False, True])
def test_fast_ism_equals_naive_ism(strand_average):
    from scanner.attribution.fast_ism import supports_fast_ism

    torch.manual_seed(2)
    model = build_model("deepcre", input_length=600, filters=(8, 8, 8), dense=(16, 8)).eval()
    assert supports_fast_ism(model) and not supports_fast_ism(SmallCNN())
    codes, _ = inputs(600, n=2)
    fixed = np.zeros(600, bool)
    fixed[300:303] = True
    options = dict(dtype=torch.float64, fixed=fixed, reverse_complement_average=strand_average)
    fast = ism(model, codes, fast=True, batch_size=500, **options)
    naive = ism(model, codes, fast=False, **options)
    assert np.allclose(fast.hypothetical, naive.hypothetical, atol=1e-10, rtol=0)
    assert np.abs(naive.hypothetical).max() > 0
    assert np.allclose(fast.output, naive.output)
