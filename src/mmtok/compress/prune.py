"""Pruning: keep the top-k tokens by a score, in their original order.

The score is where methods differ: the attention [CLS] pays each patch (inside the vision
tower), the attention text queries pay each image token in the LLM after layer K (FastV), or a
learned scorer. Pruned tokens simply vanish: their provenance becomes -1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmtok.compress.tokenset import TokenSet, keep_tokens
from mmtok.errors import ConfigError


def prune(ts: TokenSet, scores: Tensor, keep: int) -> TokenSet:
    """Keep exactly ``keep`` tokens (protected ones included, always kept) of highest score.

    ``scores`` (B, N): higher is more important (ties are broken by ``topk``, unspecified).
    The kept tokens come out in their original order.
    """
    if scores.shape != ts.size.shape:
        raise ConfigError(f"scores: shape {tuple(scores.shape)}, expected {tuple(ts.size.shape)}")
    if not ts.protected <= keep <= ts.n:
        raise ConfigError(
            f"keep={keep}: must be in [{ts.protected}, {ts.n}] ({ts.n} tokens, "
            f"{ts.protected} protected)"
        )
    scores = scores.float().clone()
    scores[:, : ts.protected] = torch.inf
    index = scores.topk(keep, dim=1).indices.sort(dim=1).values  # (B, keep), original order
    return keep_tokens(ts, index)


def cls_attention_scores(attention: Tensor, cls: int = 0) -> Tensor:
    """Attention from the [CLS] query to every token, averaged over heads.

    ``attention`` (B, heads, N, N) softmax weights of a vision-tower layer → (B, N).
    """
    return attention[:, :, cls, :].mean(dim=1)


def text_attention_scores(
    attention: Tensor, image: slice, queries: slice = slice(-1, None)
) -> Tensor:
    """FastV's score: attention that text queries pay each image token in an LLM layer.

    ``attention`` (B, heads, L, L) from layer K; ``image`` selects the image tokens' positions,
    ``queries`` the text positions that vote (FastV: the last token) → (B, N_image).
    """
    return attention[:, :, queries, image].mean(dim=(1, 2))


def distinctiveness_scores(features: Tensor) -> Tensor:
    """Training-free stand-in when no attention map exists: 1 − cos(token, mean token).

    (B, N, D) → (B, N). Tokens unlike the average (edges, objects) outrank background.
    """
    mean = features.mean(dim=1, keepdim=True)
    return 1 - torch.nn.functional.cosine_similarity(features, mean, dim=-1)


class LearnedScore(nn.Module):
    """A small MLP that scores each token from its features: (B, N, D) → (B, N).

    Top-k is not differentiable; train it with a relaxation (e.g. Gumbel top-k) or a
    distillation target, then prune with ``prune(ts, scorer(ts.features), keep)``.
    """

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1)
        )

    def forward(self, features: Tensor) -> Tensor:
        if features.shape[-1] != self.dim:
            raise ConfigError(f"features: last dim {features.shape[-1]}, scorer expects {self.dim}")
        return self.net(features).squeeze(-1)
