"""An ARGMINN-style mechanistically interpretable model (after Tseng et al., 2024).

One convolution scans for motifs, one filter per motif; its ReLU activations,
batch-normalised, are the tokens, each joined (concatenated) with a sinusoidal
position code and projected to the attention width. A fixed random memory
vector, not the tokens, asks the questions: in each attention layer the memory's
query attends over the tokens (the tokens are their own keys), the attended
values update the memory by a residual sum. The final memory goes through a
linear layer to the logits. So the attention weights say which motif instances
the prediction used, and each token is a motif activation.

Three regularisers keep it readable, switched on by a warm-up schedule
(``regularisation(epoch)``):

- filter overlap: at each position where a filter fires, the most active filter and any other filter
  firing within a filter width of it should not both have weight on the bases they
  share; the product of their absolute weights over the shared columns, scaled by
  the other filter's activation, is penalised (divided by the total absolute
  weight);
- L1 on the scanner weights, so filters keep to their motif's columns;
- attention entropy, relative to the uniform entropy, so attention picks a few
  instances.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import Add, MatMul, Scale, SinusoidalPositions


class StreamAttention(nn.Module):
    """One memory-stream attention layer: the memory queries the tokens.

    ``memory`` ``(N, S)`` (or ``(1, S)``, shared by the batch) and ``tokens`` ``(N, T, D)`` give the update ``(N, S)``;
    ``last_weights`` keeps the attention ``(N, heads, T)`` of the last call.
    """

    def __init__(self, dim: int, stream: int, heads: int, hidden: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"token width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.query = nn.Linear(stream, dim)
        self.value = nn.Linear(dim, dim)
        self.scores = MatMul()
        self.scale = Scale(1.0 / math.sqrt(dim // heads))
        self.softmax = nn.Softmax(dim=-1)
        self.mix = MatMul()
        self.output = nn.Linear(dim, dim)
        self.norm_attention = nn.LayerNorm(dim)
        self.feed_in = nn.Linear(dim, hidden)
        self.feed_relu = nn.ReLU()
        self.feed_out = nn.Linear(hidden, stream)
        self.norm_feed = nn.LayerNorm(stream)
        self.last_weights: torch.Tensor | None = None

    def forward(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        n, length, dim = tokens.shape
        width = dim // self.heads
        query = self.query(memory).reshape(-1, self.heads, 1, width)  # the first memory is shared: broadcasts
        keys = tokens.reshape(n, length, self.heads, width).transpose(1, 2)
        values = self.value(tokens).reshape(n, length, self.heads, width).transpose(1, 2)
        weights = self.softmax(self.scale(self.scores(query, keys.transpose(-2, -1))))  # (N, heads, 1, T)
        self.last_weights = weights[:, :, 0]
        mixed = self.mix(weights, values).reshape(n, dim)
        attended = self.norm_attention(self.output(mixed))
        return self.norm_feed(self.feed_out(self.feed_relu(self.feed_in(attended))))


class ArgminnModel(nn.Module):
    """Motif scanner -> tokens -> attention from a memory stream -> logits.

    Parameters
    ----------
    input_length, targets : int
    motifs : int
        Filters of the motif scanner (one motif each).
    motif_width : int
        Width of each filter in bases.
    position_dim : int
        Width of the sinusoidal position code joined to each token.
    dim, stream, heads, layers, hidden : int
        Token width, memory width, attention heads, attention layers, feed-forward width.
    overlap_weight, l1_weight, entropy_weight : float
        Weights of the three regularisers at full strength.
    warmup_start, warmup_epochs : int
        Regularisers are off before epoch ``warmup_start`` (0-based) and ramp
        linearly to full strength over ``warmup_epochs`` epochs.
    seed : int
        Seed of the fixed memory vector.
    """

    def __init__(self, *, input_length: int = 500, targets: int = 1, motifs: int = 8, motif_width: int = 12,
                 position_dim: int = 16, dim: int = 32, stream: int = 64, heads: int = 4, layers: int = 2,
                 hidden: int = 64, overlap_weight: float = 1e-3, l1_weight: float = 1e-3, entropy_weight: float = 1e-3,
                 warmup_start: int = 2, warmup_epochs: int = 3, seed: int = 0):
        super().__init__()
        if input_length < motif_width:
            raise ValueError(f"input_length {input_length} is shorter than motif_width {motif_width}")
        self.input_length = int(input_length)
        self.targets = int(targets)
        self.motif_width = int(motif_width)
        self.weights = {"overlap": overlap_weight, "l1": l1_weight, "entropy": entropy_weight}
        self.warmup_start = int(warmup_start)
        self.warmup_epochs = max(int(warmup_epochs), 1)
        tokens = self.input_length - self.motif_width + 1
        self.scanner = nn.Conv1d(4, motifs, motif_width)
        self.scanner_relu = nn.ReLU()
        self.scanner_norm = nn.BatchNorm1d(motifs)
        self.register_buffer("positions", SinusoidalPositions(tokens, position_dim).table.clone())
        # a linear map of [activations, position code] is the sum of one map of each
        self.tokenise = nn.Linear(motifs, dim)
        self.place = nn.Linear(position_dim, dim, bias=False)
        self.add_place = Add()
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("memory", torch.randn(stream, generator=generator))
        self.attention = nn.ModuleList(StreamAttention(dim, stream, heads, hidden) for _ in range(layers))
        self.update = nn.ModuleList(Add() for _ in range(layers))
        self.final_norm = nn.LayerNorm(stream)
        self.output = nn.Linear(stream, self.targets)
        self.receptive_field = self.input_length
        self.last_activations: torch.Tensor | None = None

    def motif_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Filter activations (ReLU, before normalisation) ``(N, motifs, L - motif_width + 1)``."""
        return self.scanner_relu(self.scanner(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activations = self.motif_activations(x)
        self.last_activations = activations
        normalised = self.scanner_norm(activations).transpose(1, 2)
        tokens = self.add_place(self.tokenise(normalised), self.place(self.positions))
        memory = self.memory[None]
        for attention, update in zip(self.attention, self.update):
            memory = update(memory, attention(memory, tokens))
        return self.output(self.final_norm(memory))

    def attention_weights(self) -> torch.Tensor:
        """Attention over tokens of the last forward pass, ``(N, layers, heads, tokens)``."""
        return torch.stack([block.last_weights for block in self.attention], dim=1)

    def warmup(self, epoch: int) -> float:
        """Regulariser strength (0 to 1) at ``epoch`` (0-based)."""
        return float(min(max((epoch - self.warmup_start + 1) / self.warmup_epochs, 0.0), 1.0))

    def overlap_penalty(self, activations: torch.Tensor) -> torch.Tensor:
        """The filter-overlap regulariser for activations ``(N, F, T)``; see the module notes."""
        weight = self.scanner.weight.abs().sum(dim=1)  # (F, W): absolute weight per column
        width = weight.shape[1]
        n, filters, length = activations.shape
        strongest, top = activations.max(dim=1)  # (N, T)
        active = (strongest > 0).to(activations.dtype)  # where nothing fires there is no top filter
        penalty = activations.new_zeros(n, length)
        for shift in range(-(width - 1), width):
            # filter a at i and filter b at i + shift share a's columns [max(0, shift), W - max(0, -shift))
            # and b's columns [max(0, -shift), W - max(0, shift))
            a_part = weight[:, max(0, shift) : width - max(0, -shift)].sum(dim=1)  # (F,)
            b_part = weight[:, max(0, -shift) : width - max(0, shift)].sum(dim=1)
            shifted = torch.zeros_like(activations)
            if shift >= 0:
                shifted[:, :, : length - shift] = activations[:, :, shift:]
            else:
                shifted[:, :, -shift:] = activations[:, :, : length + shift]
            others = (shifted * b_part[None, :, None]).sum(dim=1)
            own = torch.gather(shifted, 1, top[:, None])[:, 0] * b_part[top]
            penalty = penalty + a_part[top] * (others - own)
        return (penalty * active).mean() / weight.sum()

    def regularisation_terms(self) -> dict[str, torch.Tensor]:
        """The three regularisers of the last forward pass, unweighted."""
        weights = self.attention_weights().clamp_min(1e-12)
        entropy = -(weights * weights.log()).sum(-1).mean() / math.log(weights.shape[-1])
        return {
            "overlap": self.overlap_penalty(self.last_activations),
            "l1": self.scanner.weight.abs().sum(),
            "entropy": entropy,
        }

    def regularisation(self, epoch: int) -> torch.Tensor:
        """Weighted regularisers of the last forward pass at ``epoch``'s warm-up strength."""
        factor = self.warmup(epoch)
        if factor == 0.0:
            return torch.zeros((), device=self.scanner.weight.device)
        terms = self.regularisation_terms()
        return factor * sum(self.weights[name] * value for name, value in terms.items())
