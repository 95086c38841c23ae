"""The built-in architectures: shapes, parameter counts, gradients, explicit modules."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from scanner.genome.encoding import one_hot
from scanner.models.architectures import ARCHITECTURES, build_model
from scanner.models.layers import ChannelsLastFlatten, same_conv
from scanner.models.training import one_hot_batch

SMALL = {
    "deepcre": {},
    "deepplantcre": {"input_length": 600, "token_pool": 10, "layers": 1},
    "argminn": {"input_length": 300},
    "regioncnn": {"input_length": 300},
}


def parameters(model):
    return sum(p.numel() for p in model.parameters())


def test_deepcre_matches_the_published_network():
    model = build_model("deepcre")
    assert parameters(model) == 387_841
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convolutions] == [
        (4, 64, 8), (64, 64, 8), (64, 128, 8), (128, 128, 8), (128, 64, 8), (64, 64, 8)
    ]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool1d)]
    assert [p.kernel_size for p in pools] == [8, 8, 8]
    dropouts = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert dropouts == [0.25] * 4
    x = torch.zeros(2, 4, 3020)
    features = model.features(x)
    assert features.shape == (2, 64, 6)  # 3020 -> 378 -> 48 -> 6 with 'same' pooling
    assert model.flatten(features).shape == (2, 384)
    dense = [(m.in_features, m.out_features) for m in model.head if isinstance(m, nn.Linear)]
    assert dense == [(384, 128), (128, 64), (64, 1)]
    assert model(x).shape == (2, 1)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_forward_shapes_and_gradients(name):
    torch.manual_seed(0)
    model = build_model(name, targets=3, **SMALL[name])
    x = one_hot_batch(np.random.default_rng(0).integers(0, 5, (4, model.input_length)).astype(np.uint8))
    out = model(x)
    assert out.shape == (4, 3) and out.dtype == torch.float32
    out.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    assert sum(float(p.grad.abs().sum()) for p in model.parameters()) > 0


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_nonlinearity_is_its_own_module(name):
    model = build_model(name, **SMALL[name])
    counted = {}
    for _, module in model.named_modules(remove_duplicate=False):
        counted[id(module)] = counted.get(id(module), 0) + 1
    reused = [type(m).__name__ for m in model.modules() if counted[id(m)] > 1]
    assert not reused
    fused = (nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerEncoder)
    assert not any(isinstance(m, fused) for m in model.modules())


def test_deepplantcre_attention_is_explicit():
    from scanner.models.layers import ExplicitAttention, MatMul

    model = build_model("deepplantcre", **SMALL["deepplantcre"])
    attention = [m for m in model.modules() if isinstance(m, ExplicitAttention)]
    assert len(attention) == 1
    assert sum(isinstance(m, MatMul) for m in attention[0].modules()) == 2
    assert sum(isinstance(m, nn.Softmax) for m in model.modules()) == 1
    assert sum(isinstance(m, nn.LayerNorm) for m in model.modules()) == 2


def test_regioncnn_receptive_field_is_what_a_point_change_reaches():
    torch.manual_seed(0)
    model = build_model("regioncnn", input_length=200, layers=3, stem_kernel=5)
    assert model.receptive_field == 5 + 2 * (2**3 - 1)
    x = torch.zeros(1, 4, 200, requires_grad=True)
    trunk = model.stem_relu(model.stem(x))
    for conv, relu, add in zip(model.dilated, model.dilated_relu, model.residual):
        trunk = add(trunk, relu(conv(trunk)))
    trunk[0, :, 100].sum().backward()
    reached = torch.nonzero(x.grad.abs().sum(dim=1)[0]).ravel()
    assert reached.max() - reached.min() + 1 <= model.receptive_field


def test_argminn_regularisers_and_warmup():
    torch.manual_seed(0)
    model = build_model("argminn", input_length=100, motifs=4, heads=2, warmup_start=2, warmup_epochs=2)
    model(torch.rand(3, 4, 100))
    assert [model.warmup(e) for e in range(5)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert float(model.regularisation(0)) == 0.0
    terms = model.regularisation_terms()
    assert set(terms) == {"overlap", "l1", "entropy"}
    assert 0.0 <= float(terms["entropy"]) <= 1.0 + 1e-6
    assert float(terms["l1"]) == pytest.approx(float(model.scanner.weight.abs().sum()))
    full = float(model.regularisation(4))
    assert full == pytest.approx(sum(model.weights[k] * float(v) for k, v in terms.items()), rel=1e-5)
    assert model.attention_weights().shape == (3, 2, 2, 100 - 12 + 1)
    assert torch.allclose(model.attention_weights().sum(-1), torch.ones(3, 2, 2))
    assert "memory" in model.state_dict() and not model.memory.requires_grad  # fixed, but saved


def _slow_overlap(weight, activations):
    """The overlap penalty by explicit loops over positions, filters and shifts."""
    absolute = weight.abs().sum(dim=1)  # (F, W)
    filters, width = absolute.shape
    n, _, length = activations.shape
    total = 0.0
    for row in range(n):
        for i in range(length):
            if activations[row, :, i].max() <= 0:
                continue
            a = int(activations[row, :, i].argmax())
            for j in range(max(0, i - width + 1), min(length, i + width)):
                d = j - i
                for b in range(filters):
                    if b == a:
                        continue
                    shared_a = absolute[a, max(0, d) : width - max(0, -d)].sum()
                    shared_b = absolute[b, max(0, -d) : width - max(0, d)].sum()
                    total += float(activations[row, b, j] * shared_a * shared_b)
    return total / (n * length) / float(absolute.sum())


def test_argminn_overlap_penalty_against_loops():
    torch.manual_seed(1)
    model = build_model("argminn", input_length=20, motifs=3, motif_width=4)
    activations = torch.relu(torch.randn(2, 3, 17))
    expected = _slow_overlap(model.scanner.weight.detach(), activations)
    assert float(model.overlap_penalty(activations)) == pytest.approx(expected, rel=1e-5)
    # one filter firing alone costs nothing
    alone = torch.zeros(1, 3, 17)
    alone[0, 1, 5] = 2.0
    assert float(model.overlap_penalty(alone)) == 0.0


def test_unknown_architecture_and_bad_hyperparameter():
    with pytest.raises(ValueError, match="unknown architecture 'cnn'"):
        build_model("cnn")
    with pytest.raises(ValueError, match="deepcre.*filterz"):
        build_model("deepcre", filterz=3)


@pytest.mark.parametrize("kernel,dilation", [(8, 1), (5, 1), (3, 2), (4, 3)])
def test_same_convolution_pads_like_tensorflow(kernel, dilation):
    torch.manual_seed(0)
    conv = same_conv(2, 3, kernel, dilation=dilation)
    weight, bias = [p for p in conv.parameters()]
    x = torch.randn(1, 2, 30)
    reach = dilation * (kernel - 1)
    expected = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (reach // 2, reach - reach // 2)), weight, bias, dilation=dilation)
    assert torch.allclose(conv(x), expected, atol=1e-6)


def test_channels_last_flatten_is_position_major():
    x = torch.arange(12.0).reshape(1, 3, 4)  # (N, C, L)
    assert ChannelsLastFlatten()(x).tolist() == [[0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0]]


@settings(max_examples=50)
@given(st.lists(st.integers(0, 12).filter(lambda c: c not in (5, 6, 7)), min_size=1, max_size=60))
def test_one_hot_batch_matches_the_engine_encoding(codes):
    codes = np.array([codes], dtype=np.uint8)
    expected = one_hot(codes)  # (1, L, 4)
    assert np.array_equal(one_hot_batch(codes).numpy(), expected.transpose(0, 2, 1))
