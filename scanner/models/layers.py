"""Building blocks written as explicit modules.

Every operation that attribution methods must see gets its own ``nn.Module``
instance, never reused and never hidden in a functional call: the ReLU after each
convolution, each matrix product of an attention block, each softmax, each residual
sum. DeepLIFT-style rules attach to modules, so an operation done inside
``forward`` with ``torch.*`` would be invisible to them (and a fused
``nn.MultiheadAttention`` hides all of them at once).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MatMul(nn.Module):
    """``a @ b`` as a module (attention scores and attention-weighted values)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class Add(nn.Module):
    """``a + b`` as a module (residual connections, positional encodings)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Scale(nn.Module):
    """Multiplication by a fixed constant (a linear operation)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:.6g}"


class ChannelsLastFlatten(nn.Module):
    """Flatten ``(N, C, L)`` position-major, as Keras flattens ``(N, L, C)``.

    Keeps the dense layer after it weight-compatible with Keras DeepCRE models.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).flatten(1)


class SinusoidalPositions(nn.Module):
    """Adds the fixed sine/cosine positional encoding to ``(N, length, D)`` tokens."""

    def __init__(self, length: int, dim: int):
        super().__init__()
        position = torch.arange(length, dtype=torch.float32)[:, None]
        frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(length, dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
        self.register_buffer("table", table, persistent=False)
        self.add = Add()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.add(x, self.table)  # broadcasts over the batch; x must have ``length`` tokens


class ExplicitAttention(nn.Module):
    """Multi-head scaled dot-product attention from explicit modules.

    ``query`` ``(N, Lq, D)`` attends over ``keys`` ``(N, Lk, D)``. The attention
    weights of the last call are kept in ``last_weights`` ``(N, heads, Lq, Lk)``
    when ``keep_weights`` is set (for read-outs and regularisers).
    """

    def __init__(self, dim: int, heads: int, *, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.scores = MatMul()
        self.scale = Scale(1.0 / math.sqrt(dim // heads))
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)
        self.mix = MatMul()
        self.output = nn.Linear(dim, dim)
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        return x.reshape(n, length, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        q = self._split(self.query(query))
        k = self._split(self.key(keys))
        v = self._split(self.value(keys))
        weights = self.softmax(self.scale(self.scores(q, k.transpose(-2, -1))))
        if self.keep_weights:
            self.last_weights = weights
        mixed = self.mix(self.dropout(weights), v)
        n, heads, length, width = mixed.shape
        return self.output(mixed.transpose(1, 2).reshape(n, length, heads * width))


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (self-attention, then a feed-forward)."""

    def __init__(self, dim: int, heads: int, hidden: int, dropout: float):
        super().__init__()
        self.attention = ExplicitAttention(dim, heads, dropout=dropout)
        self.drop_attention = nn.Dropout(dropout)
        self.add_attention = Add()
        self.norm_attention = nn.LayerNorm(dim)
        self.feed_in = nn.Linear(dim, hidden)
        self.feed_relu = nn.ReLU()
        self.feed_drop = nn.Dropout(dropout)
        self.feed_out = nn.Linear(hidden, dim)
        self.drop_feed = nn.Dropout(dropout)
        self.add_feed = Add()
        self.norm_feed = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm_attention(self.add_attention(x, self.drop_attention(self.attention(x, x))))
        fed = self.feed_out(self.feed_drop(self.feed_relu(self.feed_in(x))))
        return self.norm_feed(self.add_feed(x, self.drop_feed(fed)))


class ResidualConvBlock(nn.Module):
    """Two 'same' convolutions with a residual sum, then ReLU and max-pooling."""

    def __init__(self, channels: int, kernel: int, pool: int, dropout: float):
        super().__init__()
        self.conv1 = same_conv(channels, channels, kernel)
        self.relu1 = nn.ReLU()
        self.conv2 = same_conv(channels, channels, kernel)
        self.add = Add()
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool1d(pool, ceil_mode=True) if pool > 1 else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.relu1(self.conv1(x)))
        return self.dropout(self.pool(self.relu2(self.add(x, y))))


def same_conv(in_channels: int, out_channels: int, kernel: int, *, dilation: int = 1) -> nn.Module:
    """A convolution whose output has the input's length (Keras/TF 'same').

    For an even reach the extra padded base goes on the right, as TensorFlow does;
    the padding is an explicit module so torch need not copy the input itself.
    """
    reach = dilation * (kernel - 1)
    if reach % 2 == 0:
        return nn.Conv1d(in_channels, out_channels, kernel, padding="same", dilation=dilation)
    return nn.Sequential(
        nn.ConstantPad1d((reach // 2, reach - reach // 2), 0.0),
        nn.Conv1d(in_channels, out_channels, kernel, dilation=dilation),
    )


def pooled_length(length: int, pool: int) -> int:
    """Length after ``MaxPool1d(pool, ceil_mode=True)`` (Keras 'same' pooling)."""
    return -(-length // pool) if pool > 1 else length
