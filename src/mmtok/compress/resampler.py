"""Learnable-query resamplers: a fixed number of output tokens whatever the input length.

Q-Former style (BLIP-2, simplified to its query stream): queries attend to each other, then
read the patch features by cross-attention. Perceiver style (Flamingo): latents attend to the
features and themselves in one attention. Both accept per-token ``size`` from a merged
TokenSet and add the proportional-attention bias log(size), so a ToMe'd input reads like the
uncompressed one.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from mmtok.compress.adapters import check_dim
from mmtok.compress.tome import size_bias
from mmtok.errors import ConfigError


class Attention(nn.Module):
    """Multi-head attention that also returns its weights (B, heads, Q, N)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(
        self, queries: Tensor, context: Tensor, bias: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        q = rearrange(self.to_q(queries), "b q (h d) -> b h q d", h=self.heads)
        k, v = rearrange(self.to_kv(context), "b n (two h d) -> two b h n d", two=2, h=self.heads)
        logits = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5  # (B, heads, Q, N)
        if bias is not None:
            logits = logits + bias
        weights = logits.softmax(dim=-1)
        out = rearrange(weights @ v, "b h q d -> b q (h d)")
        return self.to_out(out), weights


def feed_forward(dim: int, mult: int = 4) -> nn.Sequential:
    """Pre-norm MLP block: (…, dim) → (…, dim)."""
    return nn.Sequential(
        nn.LayerNorm(dim), nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim)
    )


class QFormerBlock(nn.Module):
    """Self-attention among queries → cross-attention to features → MLP (pre-norm residual)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.self_norm, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.cross_norm, self.context_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, heads)
        self.ff = feed_forward(dim)

    def forward(self, q: Tensor, context: Tensor, bias: Tensor | None) -> tuple[Tensor, Tensor]:
        h = self.self_norm(q)
        q = q + self.self_attn(h, h)[0]
        read, weights = self.cross_attn(self.cross_norm(q), self.context_norm(context), bias)
        q = q + read
        return q + self.ff(q), weights


class PerceiverBlock(nn.Module):
    """Latents attend to [features; latents] in one attention, then an MLP (Flamingo)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.latent_norm, self.context_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ff = feed_forward(dim)

    def forward(self, q: Tensor, context: Tensor, bias: Tensor | None) -> tuple[Tensor, Tensor]:
        n = context.shape[1]
        h = self.latent_norm(q)
        kv = torch.cat([self.context_norm(context), h], dim=1)  # (B, N + Q, dim)
        if bias is not None:  # latents count once each: zero bias
            bias = torch.cat([bias, bias.new_zeros(*bias.shape[:-1], q.shape[1])], dim=-1)
        read, weights = self.attn(h, kv, bias)
        q = q + read
        on_features = weights[..., :n]  # renormalised without the latents' share
        return q + self.ff(q), on_features / on_features.sum(-1, keepdim=True)


class _Resampler(nn.Module):
    """Shared frame: project features to ``dim``, run query blocks, project out."""

    block: type[nn.Module]

    def __init__(
        self,
        in_dim: int,
        num_queries: int = 32,
        dim: int = 256,
        depth: int = 2,
        heads: int = 8,
        out_dim: int | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if dim % heads:
            raise ConfigError(f"{name}: dim={dim} is not divisible by heads={heads}")
        if depth < 1 or num_queries < 1:
            raise ConfigError(f"{name}: depth={depth} and num_queries={num_queries} must be ≥ 1")
        self.in_dim, self.num_queries = in_dim, num_queries
        self.project_in = nn.Linear(in_dim, dim)
        self.queries = nn.Parameter(torch.randn(num_queries, dim) * 0.02)
        self.blocks = nn.ModuleList([self.block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.project_out = nn.Linear(dim, out_dim or dim)

    def forward(self, x: Tensor, size: Tensor | None = None) -> Tensor:
        """(B, N, in_dim), optional sizes (B, N) → (B, num_queries, out_dim)."""
        return self.forward_with_attention(x, size)[0]

    def forward_with_attention(
        self, x: Tensor, size: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Also return the last block's attention over the features, head-averaged (B, Q, N);
        rows sum to 1."""
        check_dim(x, self.in_dim, type(self).__name__)
        if size is not None and size.shape != x.shape[:2]:
            raise ConfigError(f"size: shape {tuple(size.shape)}, expected {tuple(x.shape[:2])}")
        context = self.project_in(x)
        bias = None if size is None else size_bias(size).to(x.dtype)
        q = self.queries.expand(x.shape[0], -1, -1)
        for block in self.blocks:
            q, weights = block(q, context, bias)
        return self.project_out(self.norm(q)), weights.mean(dim=1)


class QFormerResampler(_Resampler):
    """N learnable queries, ``depth`` Q-Former blocks: (B, N, in_dim) → (B, Q, out_dim)."""

    block = QFormerBlock


class PerceiverResampler(_Resampler):
    """N learnable latents, ``depth`` Perceiver blocks: (B, N, in_dim) → (B, Q, out_dim)."""

    block = PerceiverBlock
