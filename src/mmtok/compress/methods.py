"""The methods by name: how many tokens each leaves (for the planner) and how to reach a count.

``count_after`` is pure arithmetic, so a budget planner can price a method without tensors.
``compress_to`` runs a method to (at most) ``keep`` tokens and returns, beside the tokens, how
much each output token reads from each original patch: the common ground on which overlays
and the information-kept evaluation compare merging, pruning, pooling and resampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mmtok.compress.adapters import merged_grid
from mmtok.compress.pool import pool, pooled_grid
from mmtok.compress.prune import distinctiveness_scores, prune
from mmtok.compress.resampler import PerceiverResampler, QFormerResampler
from mmtok.compress.schedule import MergeKind, merge_counts, merge_schedule, rounds_to_keep
from mmtok.compress.tokenset import Grid, TokenSet, grid_positions
from mmtok.compress.tome import tome_merge
from mmtok.errors import ConfigError

METHODS = ("tome", "prune", "pool", "temporal", "qformer", "perceiver", "patch_merger")
"""Names ``count_after`` knows; ``compress_to`` runs the ones a target count suits."""

KEEP_METHODS = ("tome", "prune", "pool", "qformer", "perceiver")


def _grid_tokens(method: str, n_tokens: int, grid: Grid | None, protected: int) -> Grid:
    if grid is None:
        raise ConfigError(f"{method}: needs the (T, H, W) grid of the tokens")
    t, h, w = grid
    if n_tokens != protected + t * h * w:
        raise ConfigError(
            f"{method}: {n_tokens} tokens do not match grid {grid} with {protected} protected"
        )
    return grid


def count_after(
    method: str,
    n_tokens: int,
    grid: Grid | None = None,
    *,
    keep: int | None = None,
    r: int | Sequence[int] | None = None,
    layers: int | None = None,
    kind: MergeKind = "constant",
    window: int = 2,
    factor: int = 2,
    num_queries: int | None = None,
    protected: int = 0,
) -> int:
    """Tokens a method leaves from ``n_tokens`` (protected ones included).

    tome: n − Σ r_i over the schedule (``r``, ``layers`` (default: 1, or len(r) for a
    per-layer list), ``kind``), or ``keep``;
    prune: ``keep``; pool: p + T·⌈H/k⌉·⌈W/k⌉ for ``window`` k; patch_merger (and pixel
    shuffle): T·(H/f)·(W/f); qformer/perceiver: ``num_queries`` (or ``keep``);
    temporal: data-dependent, so this returns its upper bound n (nothing similar enough).
    Raises ConfigError for parameters the operator itself would refuse.
    """
    if method == "tome":
        if r is not None:
            depth = layers if layers is not None else (1 if isinstance(r, int) else len(r))
            counts = merge_counts(n_tokens, merge_schedule(r, depth, kind), protected)
            return counts[-1] if counts else n_tokens
        if keep is None:
            raise ConfigError("tome: give r (with layers, kind) or keep")
        rounds_to_keep(n_tokens, keep, protected)  # validates the range
        return keep
    if method == "prune":
        if keep is None or not protected <= keep <= n_tokens:
            raise ConfigError(f"prune: keep={keep} must be in [{protected}, {n_tokens}]")
        return keep
    if method == "pool":
        t, h, w = pooled_grid(_grid_tokens(method, n_tokens, grid, protected), window)
        return protected + t * h * w
    if method == "patch_merger":
        t, h, w = _grid_tokens(method, n_tokens, grid, 0)
        if h % factor or w % factor:
            raise ConfigError(f"patch_merger: grid {grid} is not divisible by {factor}")
        t, h, w = merged_grid((t, h, w), factor)
        return t * h * w
    if method == "temporal":
        _grid_tokens(method, n_tokens, grid, protected)
        return n_tokens
    if method in ("qformer", "perceiver"):
        queries = num_queries if num_queries is not None else keep
        if queries is None or queries < 1:
            raise ConfigError(f"{method}: give num_queries ≥ 1")
        return queries
    raise ConfigError(f"method {method!r}: unknown (one of {', '.join(METHODS)})")


@dataclass(frozen=True)
class Compressed:
    """A method's output and what it read.

    ``read`` (B, K, N0): row k is how output token k draws on each original token (a merged
    token reads its members uniformly, a kept token reads itself, a resampler query reads by
    its attention); all-zero columns are patches nothing reads (pruned).
    """

    method: str
    features: Tensor  # (B, K, D)
    read: Tensor  # (B, K, N0)
    positions: Tensor  # (B, K, 3) (t, h, w) centroids

    @property
    def n_tokens(self) -> int:
        return self.features.shape[1]

    def owner(self) -> Tensor:
        """(B, N0) output token reading each original token most; -1 where none reads it."""
        weight, owner = self.read.max(dim=1)
        return owner.masked_fill(weight <= 0, -1)


def _from_tokenset(method: str, ts: TokenSet) -> Compressed:
    return Compressed(method, ts.features, ts.read(), ts.positions)


def pool_window(layout: Grid, keep: int) -> int:
    """Smallest pooling window whose output fits in ``keep`` grid tokens."""
    t, h, w = layout
    for window in range(1, max(h, w) + 1):
        gt, gh, gw = pooled_grid(layout, window)
        if gt * gh * gw <= keep:
            return window
    raise ConfigError(f"keep={keep}: pooling cannot go below {t} token(s) (one per frame)")


def compress_to(ts: TokenSet, method: str, keep: int, seed: int = 0) -> Compressed:
    """Run ``method`` on a fresh grid TokenSet down to ``keep`` tokens (pool: at most ``keep``).

    Training-free defaults: ToMe merges on the features in the fewest rounds; prune scores by
    ``distinctiveness_scores``; resamplers are randomly initialised from ``seed`` (untrained,
    so they show the mechanics, not a trained model's quality).
    """
    if not 1 <= keep <= ts.n:
        raise ConfigError(f"keep={keep}: must be in [1, {ts.n}] ({ts.n} tokens to compress)")
    if method == "tome":
        for r in rounds_to_keep(ts.n, keep, ts.protected):
            ts = tome_merge(ts, r)
        return _from_tokenset(method, ts)
    if method == "prune":
        return _from_tokenset(method, prune(ts, distinctiveness_scores(ts.features), keep))
    if method == "pool":
        if ts.layout is None:
            raise ConfigError("pool: the TokenSet is no longer a grid")
        return _from_tokenset(method, pool(ts, pool_window(ts.layout, keep - ts.protected)))
    if method in ("qformer", "perceiver"):
        cls = QFormerResampler if method == "qformer" else PerceiverResampler
        dim = ts.features.shape[-1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            resampler = cls(dim, num_queries=keep, out_dim=dim).to(ts.features.device)
        with torch.no_grad():
            features, attention = resampler.forward_with_attention(ts.features, ts.size)
        read = attention @ ts.read()  # (B, Q, N0): attention spread over the originals
        patches = read[..., ts.protected :]  # centroids over patches only, not [CLS]
        positions = grid_positions(ts.grid, device=read.device)
        positions = patches @ positions / patches.sum(-1, keepdim=True).clamp(min=1e-12)
        return Compressed(method, features, read, positions)
    raise ConfigError(
        f"method {method!r}: cannot target a count (one of {', '.join(KEEP_METHODS)})"
    )
