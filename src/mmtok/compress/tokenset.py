"""TokenSet: visual tokens together with what each one stands for.

Every compression operator takes a TokenSet and returns one, so that after any chain of
merging, pruning and pooling three facts stay exact: how many original patches a token
represents (``size``), which ones (``origin``), and where it sits (``positions``).

Position rule: a token's (t, h, w) is the centroid (mean position) of the original patches
it stands for. Merging is a size-weighted mean, so the rule holds whatever the merge order,
and a pruned token keeps its position unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from mmtok.errors import ConfigError

Grid = tuple[int, int, int]
"""(T, H, W): patches along time, height and width."""

PROTECTED_POSITION = -1.0
"""Position of protected non-patch tokens such as [CLS]; they are never merged into a centroid."""


@dataclass(frozen=True)
class TokenSet:
    """A batch of token sets that share one original patch grid.

    ``origin`` is the provenance: for each of the N0 original tokens, the index of the token
    that now holds it, or -1 once it was pruned. Token j stands for ``{p : origin[b, p] == j}``,
    so the kept originals are partitioned among the tokens by construction.
    """

    features: Tensor  # (B, N, D)
    size: Tensor  # (B, N) float: original tokens each token stands for
    origin: Tensor  # (B, N0) long: index of the token holding each original token, -1 if pruned
    positions: Tensor  # (B, N, 3) float (t, h, w): centroid of the original patches
    grid: Grid  # (T, H, W) of the original patches
    protected: int = 0  # leading tokens (e.g. [CLS]) that no operator merges or drops
    layout: Grid | None = None  # current (T, H, W) while unprotected tokens form a raster grid

    @classmethod
    def from_grid(cls, features: Tensor, grid: Grid, protected: int = 0) -> TokenSet:
        """Wrap encoder output (B, protected + T·H·W, D) in raster (t, h, w) order."""
        if features.ndim != 3 or not features.is_floating_point():
            raise ConfigError(
                f"features: expected floating (B, N, D), got {features.dtype} "
                f"of shape {tuple(features.shape)}"
            )
        t, h, w = grid
        if min(grid) < 1 or protected < 0:
            raise ConfigError(
                f"grid {grid}, protected={protected}: sides must be ≥ 1, protected ≥ 0"
            )
        b, n, _ = features.shape
        if n != protected + t * h * w:
            raise ConfigError(
                f"features: {n} tokens, but grid {grid} with {protected} protected "
                f"token(s) needs {protected + t * h * w}"
            )
        device = features.device
        positions = grid_positions(grid, protected, device).expand(b, n, 3).contiguous()
        index = torch.arange(n, device=device).expand(b, n).contiguous()
        size = torch.ones(b, n, device=device, dtype=torch.float32)
        return cls(features, size, index, positions, grid, protected, grid)

    @property
    def n(self) -> int:
        """Tokens per set, N."""
        return self.features.shape[1]

    def with_features(self, features: Tensor) -> TokenSet:
        """The same tokens after a layer changed their features (B, N, D')."""
        return replace(self, features=features)

    def sample(self, index: int) -> TokenSet:
        """Batch element ``index`` as a TokenSet of batch 1."""
        part = slice(index, index + 1)
        return replace(
            self,
            features=self.features[part],
            size=self.size[part],
            origin=self.origin[part],
            positions=self.positions[part],
        )

    def members(self) -> Tensor:
        """Provenance as a (B, N, N0) bool matrix: token j holds original token p."""
        tokens = torch.arange(self.n, device=self.origin.device)
        return self.origin[:, None, :] == tokens[None, :, None]

    def read(self) -> Tensor:
        """(B, N, N0) float: each token as the uniform mean of its members (rows sum to 1)."""
        return self.members().float() / self.size[..., None]


def grid_positions(grid: Grid, protected: int = 0, device: torch.device | None = None) -> Tensor:
    """(protected + T·H·W, 3) float (t, h, w) of the original tokens in raster order."""
    axes = [torch.arange(k, device=device, dtype=torch.float32) for k in grid]
    patches = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
    lead = torch.full((protected, 3), PROTECTED_POSITION, device=device)
    return torch.cat([lead, patches])


def _remap_origin(origin: Tensor, assign: Tensor) -> Tensor:
    """Follow provenance through one operator: (B, N0) old slots → (B, N0) new slots."""
    return assign.gather(1, origin.clamp(min=0)).masked_fill(origin < 0, -1)


def merge_tokens(ts: TokenSet, assign: Tensor, n_out: int, layout: Grid | None = None) -> TokenSet:
    """Merge tokens into ``n_out`` slots: token i goes to slot ``assign[b, i]`` (-1 drops it).

    Features and positions become size-weighted means and sizes add, so a token still equals
    the mean of its original patches (for features: as far as its inputs did). Every merging
    operator (ToMe, pooling, temporal merge) is this function plus a rule for ``assign``,
    which must send at least one kept token to every slot.
    """
    b, n, d = ts.features.shape
    slot = assign.clamp(min=0)  # a dropped token adds zero weight to slot 0
    weight = ts.size * (assign >= 0)  # (B, N)
    size = weight.new_zeros(b, n_out).scatter_add_(1, slot, weight)
    features = ts.features.new_zeros(b, n_out, d).scatter_add_(
        1, slot[..., None].expand(b, n, d), ts.features * weight[..., None].to(ts.features.dtype)
    )
    positions = ts.positions.new_zeros(b, n_out, 3).scatter_add_(
        1, slot[..., None].expand(b, n, 3), ts.positions * weight[..., None]
    )
    return replace(
        ts,
        features=features.div_(size[..., None].to(features.dtype)),
        size=size,
        origin=_remap_origin(ts.origin, assign),
        positions=positions.div_(size[..., None]),
        layout=layout,
    )


def keep_tokens(ts: TokenSet, index: Tensor) -> TokenSet:
    """Keep the tokens at ``index`` (B, K), in that order; the others are pruned."""
    b, k = index.shape
    assign = torch.full((b, ts.n), -1, dtype=torch.long, device=index.device)
    assign.scatter_(1, index, torch.arange(k, device=index.device).expand(b, k))
    return replace(
        ts,
        features=ts.features.gather(1, index[..., None].expand(b, k, ts.features.shape[-1])),
        size=ts.size.gather(1, index),
        origin=_remap_origin(ts.origin, assign),
        positions=ts.positions.gather(1, index[..., None].expand(b, k, 3)),
        layout=None,
    )
