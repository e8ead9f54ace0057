"""Adapters that map vision features into the LLM's embedding space.

Projectors keep the token count; the patch merger and pixel shuffle trade tokens for width by
concatenating each f×f neighbourhood (space-to-depth). Inputs are raster-ordered (t, h, w)
grids, the order ``VisionTower.features`` returns.
"""

from __future__ import annotations

from einops import rearrange
from torch import Tensor, nn

from mmtok.compress.tokenset import Grid
from mmtok.errors import ConfigError


def check_dim(x: Tensor, dim: int, name: str) -> None:
    """Raise ConfigError unless the last axis of ``x`` is ``dim`` (names the module)."""
    if x.shape[-1] != dim:
        raise ConfigError(f"{name}: input features have dim {x.shape[-1]}, expected {dim}")


def space_to_depth(x: Tensor, grid: Grid, factor: int = 2) -> Tensor:
    """Concatenate each f×f block: (B, T·H·W, D) → (B, T·(H/f)·(W/f), f·f·D).

    Within a block the concatenation order is (row, column, channel), the order Qwen2-VL's
    merger sees, so its weights apply unchanged.
    """
    t, h, w = grid
    if x.ndim != 3 or x.shape[1] != t * h * w:
        raise ConfigError(f"features: shape {tuple(x.shape)} is not (B, T·H·W, D) for grid {grid}")
    if h % factor or w % factor:
        raise ConfigError(f"grid {grid}: height and width must be multiples of {factor}")
    return rearrange(
        x, "b (t h p w q) d -> b (t h w) (p q d)", t=t, h=h // factor, p=factor, q=factor
    )


def merged_grid(grid: Grid, factor: int = 2) -> Grid:
    """(T, H/f, W/f): the grid after space-to-depth by f."""
    t, h, w = grid
    return t, h // factor, w // factor


class LinearProjector(nn.Module):
    """One linear map per token: (B, N, in_dim) → (B, N, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.proj = nn.Linear(in_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        check_dim(x, self.in_dim, "LinearProjector")
        return self.proj(x)


class MLPProjector(nn.Module):
    """LLaVA-1.5's projector (``mlp2x_gelu`` at depth 2): (B, N, in_dim) → (B, N, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int, depth: int = 2) -> None:
        super().__init__()
        if depth < 1:
            raise ConfigError(f"depth={depth}: an MLP projector needs at least one layer")
        self.in_dim = in_dim
        layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
        for _ in range(depth - 1):
            layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        check_dim(x, self.in_dim, "MLPProjector")
        return self.net(x)


class PixelShuffle(nn.Module):
    """Parameter-free space-to-depth (InternVL-style downsampling, f² fewer tokens).

    (B, T·H·W, D) with ``grid`` (T, H, W) → (B, T·(H/f)·(W/f), f²·D).
    """

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: Tensor, grid: Grid) -> Tensor:
        return space_to_depth(x, grid, self.factor)


class PatchMerger(nn.Module):
    """Qwen2-VL's merger: LayerNorm → concat of f×f neighbours → MLP.

    (B, T·H·W, in_dim) with ``grid`` → (B, T·(H/f)·(W/f), out_dim). Parameter names follow
    transformers' ``PatchMerger`` (``ln_q``, ``mlp.0``, ``mlp.2``), so its state dict loads.
    """

    def __init__(self, in_dim: int, out_dim: int, factor: int = 2) -> None:
        super().__init__()
        self.in_dim, self.factor = in_dim, factor
        wide = in_dim * factor * factor
        self.ln_q = nn.LayerNorm(in_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(wide, wide), nn.GELU(), nn.Linear(wide, out_dim))

    def forward(self, x: Tensor, grid: Grid) -> Tensor:
        check_dim(x, self.in_dim, "PatchMerger")
        return self.mlp(space_to_depth(self.ln_q(x), grid, self.factor))
