"""The built-in architectures, all taking one-hot ``(N, 4, L)`` float input.

Every architecture returns ``(N, targets)`` raw outputs: logits for classifiers
(the sigmoid lives in the loss and in :func:`probabilities`), values for
regression. Each is built from keyword hyper-parameters only, so a model card can
rebuild it; :data:`ARCHITECTURES` maps names to classes.
"""

from __future__ import annotations

import torch
from torch import nn

from .argminn import ArgminnModel
from .layers import (
    Add,
    ChannelsLastFlatten,
    EncoderLayer,
    ResidualConvBlock,
    SinusoidalPositions,
    pooled_length,
    same_conv,
)


class DeepCRE(nn.Module):
    """DeepCRE (Peleke et al.) as published: three convolution blocks and a dense head.

    Each block is [Conv1d k=8 'same' + ReLU, Conv1d k=8 'same' + ReLU, MaxPool 8
    ('same', i.e. ceil), Dropout 0.25] with 64, 128 and 64 filters; then Flatten
    (6 x 64 = 384 for 3,020 bases, position-major as in Keras) -> Dense 128 + ReLU ->
    Dropout 0.25 -> Dense 64 + ReLU -> Dense ``targets``. 387,841 parameters for one
    target at 3,020 bases.
    """

    def __init__(self, *, input_length: int = 3020, targets: int = 1, filters=(64, 128, 64), kernel: int = 8,
                 pool: int = 8, dropout: float = 0.25, dense=(128, 64)):
        super().__init__()
        self.input_length = int(input_length)
        self.targets = int(targets)
        layers: list[nn.Module] = []
        channels, length = 4, self.input_length
        for width in filters:
            layers += [
                same_conv(channels, width, kernel),
                nn.ReLU(),
                same_conv(width, width, kernel),
                nn.ReLU(),
                nn.MaxPool1d(pool, ceil_mode=True),
                nn.Dropout(dropout),
            ]
            channels, length = width, pooled_length(length, pool)
        self.features = nn.Sequential(*layers)
        self.flatten = ChannelsLastFlatten()
        head: list[nn.Module] = []
        size = channels * length
        for i, width in enumerate(dense):
            head += [nn.Linear(size, width), nn.ReLU()]
            if i == 0:
                head.append(nn.Dropout(dropout))
            size = width
        head.append(nn.Linear(size, self.targets))
        self.head = nn.Sequential(*head)
        self.receptive_field = self.input_length  # the dense head sees every base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.features(x)))


class DeepPlantCRE(nn.Module):
    """A Transformer-CNN hybrid in the spirit of DeepPlantCRE.

    A convolution embeds the one-hot sequence into ``dim`` channels and max-pools it
    by ``token_pool`` into tokens; sinusoidal positions are added; ``layers``
    transformer encoder layers (explicit attention modules, post-norm) mix the
    tokens; ``conv_blocks`` residual convolution blocks, each pooling by
    ``conv_pool``, follow; a dense head gives ``targets`` outputs.
    """

    def __init__(self, *, input_length: int = 3020, targets: int = 1, dim: int = 64, stem_kernel: int = 8,
                 token_pool: int = 10, heads: int = 4, layers: int = 2, hidden: int = 128, conv_blocks: int = 2,
                 conv_kernel: int = 8, conv_pool: int = 4, dense: int = 128, dropout: float = 0.1):
        super().__init__()
        self.input_length = int(input_length)
        self.targets = int(targets)
        self.stem = same_conv(4, dim, stem_kernel)
        self.stem_relu = nn.ReLU()
        self.stem_pool = nn.MaxPool1d(token_pool, ceil_mode=True) if token_pool > 1 else nn.Identity()
        tokens = pooled_length(self.input_length, token_pool)
        self.positions = SinusoidalPositions(tokens, dim)
        self.encoder = nn.ModuleList(EncoderLayer(dim, heads, hidden, dropout) for _ in range(layers))
        blocks = []
        length = tokens
        for _ in range(conv_blocks):
            blocks.append(ResidualConvBlock(dim, conv_kernel, conv_pool, dropout))
            length = pooled_length(length, conv_pool)
        self.convolutions = nn.Sequential(*blocks)
        self.flatten = ChannelsLastFlatten()
        self.head = nn.Sequential(nn.Linear(dim * length, dense), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dense, self.targets))
        self.receptive_field = self.input_length  # attention sees every token

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.stem_pool(self.stem_relu(self.stem(x))).transpose(1, 2)
        tokens = self.positions(tokens)
        for layer in self.encoder:
            tokens = layer(tokens)
        return self.head(self.flatten(self.convolutions(tokens.transpose(1, 2))))


class RegionCNN(nn.Module):
    """A small dilated CNN for accessibility-style labels of tiles or regions.

    A ``stem_kernel`` convolution, then ``layers`` residual convolutions of width 3
    with dilation doubling each layer (1, 2, 4, ...), a global max-pool over positions
    and a linear layer to ``targets``. The convolutional receptive field is
    ``stem_kernel + 2 * (2 ** layers - 1)`` bases (``receptive_field``).
    """

    def __init__(self, *, input_length: int = 1000, targets: int = 1, channels: int = 64, stem_kernel: int = 15,
                 layers: int = 5, dropout: float = 0.1):
        super().__init__()
        self.input_length = int(input_length)
        self.targets = int(targets)
        self.stem = same_conv(4, channels, stem_kernel)
        self.stem_relu = nn.ReLU()
        self.dilated = nn.ModuleList(same_conv(channels, channels, 3, dilation=2**i) for i in range(layers))
        self.dilated_relu = nn.ModuleList(nn.ReLU() for _ in range(layers))
        self.residual = nn.ModuleList(Add() for _ in range(layers))
        self.pool = nn.AdaptiveMaxPool1d(1)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(channels, self.targets)
        self.receptive_field = stem_kernel + 2 * (2**layers - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem_relu(self.stem(x))
        for conv, relu, add in zip(self.dilated, self.dilated_relu, self.residual):
            h = add(h, relu(conv(h)))
        return self.output(self.dropout(self.pool(h).squeeze(-1)))


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "deepcre": DeepCRE,
    "deepplantcre": DeepPlantCRE,
    "argminn": ArgminnModel,
    "regioncnn": RegionCNN,
}


def build_model(name: str, **hyperparameters) -> nn.Module:
    """Build a built-in architecture by name.

    Parameters
    ----------
    name : {"deepcre", "deepplantcre", "argminn", "regioncnn"}
    **hyperparameters
        Keyword arguments of the architecture (``input_length``, ``targets``, ...).

    Returns
    -------
    torch.nn.Module
        Takes ``(N, 4, input_length)`` float32, returns ``(N, targets)``.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[name](**hyperparameters)
    except TypeError as error:
        raise ValueError(f"architecture {name!r}: {error}") from None


def probabilities(outputs: torch.Tensor) -> torch.Tensor:
    """Sigmoid of classifier logits."""
    return torch.sigmoid(outputs)
