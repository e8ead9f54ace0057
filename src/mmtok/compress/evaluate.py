"""How much of the original patch features a compressed token set still carries.

Each original patch is rebuilt from the tokens that read it (``Compressed.read``): a merged
patch becomes its group's mean, a kept patch itself, a resampled patch the attention-weighted
mix of what the queries read; a pruned patch, read by no token, borrows the nearest kept
token by (t, h, w). Quality is the explained variance of that reconstruction: 1 is lossless,
0 is no better than predicting the mean patch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mmtok.compress.methods import Compressed, compress_to
from mmtok.compress.tokenset import Grid, TokenSet, grid_positions


def reconstruct(original: Tensor, compressed: Compressed, grid: Grid, protected: int = 0) -> Tensor:
    """Rebuild the original tokens (B, N0, D) from a compressed set of K tokens.

    Each token's content is taken as the read-weighted mean of the originals (B, K, D): the
    most a token can carry about them. Tokens are then spread back along the same weights.
    """
    read = compressed.read  # (B, K, N0)
    summary = read @ original  # (B, K, D)
    unread = read.sum(dim=1) <= 0  # (B, N0): pruned
    weight = read
    if unread.any():
        b, k, _ = read.shape
        positions = grid_positions(grid, protected, read.device).expand(b, -1, 3)
        nearest = torch.cdist(positions, compressed.positions).argmin(dim=-1)  # (B, N0)
        borrowed = torch.nn.functional.one_hot(nearest, k).transpose(1, 2).to(read.dtype)
        weight = read + borrowed * unread[:, None, :]
    return weight.transpose(1, 2) @ summary / weight.sum(dim=1)[..., None]


def explained_variance(original: Tensor, rebuilt: Tensor) -> Tensor:
    """1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² per set: (B, N, D) twice → (B,)."""
    error = (original - rebuilt).pow(2).sum(dim=(1, 2))
    spread = (original - original.mean(dim=1, keepdim=True)).pow(2).sum(dim=(1, 2))
    return 1 - error / spread.clamp(min=1e-12)


def quality(ts: TokenSet, compressed: Compressed) -> Tensor:
    """Information kept (B,): explained variance of ``ts``'s original features rebuilt from
    ``compressed`` (``ts`` must be the uncompressed set it was made from)."""
    return explained_variance(
        ts.features, reconstruct(ts.features, compressed, ts.grid, ts.protected)
    )


@dataclass(frozen=True)
class EvalRow:
    """Quality of one method at one target count (averaged over ``images``)."""

    method: str
    keep: int  # tokens asked for
    tokens: float  # tokens produced (pooling may produce fewer)
    quality: float  # explained variance of the reconstruction, ≤ 1
    images: int


def evaluate_features(
    features: Tensor, grid: Grid, methods: Sequence[str], keeps: Sequence[int], seed: int = 0
) -> list[EvalRow]:
    """Score every method at every count on one image's features (1, T·H·W, D).

    Counts above the image's token count are skipped (nothing to compress).
    """
    ts = TokenSet.from_grid(features.float(), grid)
    rows = []
    for method in methods:
        for keep in keeps:
            if keep > ts.n:
                continue
            compressed = compress_to(ts, method, keep, seed)
            kept = float(quality(ts, compressed).mean())
            rows.append(EvalRow(method, keep, compressed.n_tokens, kept, 1))
    return rows


def summarise(rows: Iterable[EvalRow]) -> list[EvalRow]:
    """Average rows of the same (method, keep) over images, in first-seen order."""
    groups: dict[tuple[str, int], list[EvalRow]] = {}
    for row in rows:
        groups.setdefault((row.method, row.keep), []).append(row)
    return [
        EvalRow(
            method,
            keep,
            sum(r.tokens * r.images for r in group) / sum(r.images for r in group),
            sum(r.quality * r.images for r in group) / sum(r.images for r in group),
            sum(r.images for r in group),
        )
        for (method, keep), group in groups.items()
    ]
