"""Grid-aware merging: spatial average pooling and temporal merging of video frames.

Both need the tokens to still form a raster grid (``TokenSet.layout``), so apply them before
ToMe or pruning. Both are ``merge_tokens`` with a slot map, hence the same size, provenance
and centroid-position rules as every other merge.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmtok.compress.tokenset import Grid, TokenSet, merge_tokens
from mmtok.errors import ConfigError


def pooled_grid(layout: Grid, window: int = 2) -> Grid:
    """(T, H, W) after ``window``×``window`` pooling; ragged edges make smaller windows."""
    t, h, w = layout
    return t, -(-h // window), -(-w // window)


def _layout(ts: TokenSet, operator: str) -> Grid:
    if ts.layout is None:
        raise ConfigError(
            f"{operator}: tokens no longer form a grid (after ToMe or pruning); "
            f"apply {operator} first"
        )
    return ts.layout


def _with_protected(ts: TokenSet, patch_slots: Tensor) -> Tensor:
    """Slot map (B, N) for protected tokens (kept in place) followed by grid tokens."""
    p = ts.protected
    lead = torch.arange(p, device=patch_slots.device)
    assign = torch.cat([lead, p + patch_slots])
    return assign.expand(ts.features.shape[0], -1)


def pool(ts: TokenSet, window: int = 2) -> TokenSet:
    """Average each ``window``×``window`` block of every frame into one token.

    (B, p + T·H·W, D) → (B, p + T·⌈H/k⌉·⌈W/k⌉, D); the result is again a raster grid, so
    pooling twice with k = 2 equals pooling once with k = 4.
    """
    if window < 1:
        raise ConfigError(f"window={window}: must be at least 1")
    t, h, w = _layout(ts, "pool")
    out = pooled_grid((t, h, w), window)
    _, hh, ww = out
    device = ts.features.device
    ti, yi, xi = torch.meshgrid(
        torch.arange(t, device=device),
        torch.arange(h, device=device) // window,
        torch.arange(w, device=device) // window,
        indexing="ij",
    )
    slots = (ti * hh * ww + yi * ww + xi).reshape(-1)
    return merge_tokens(ts, _with_protected(ts, slots), ts.protected + t * hh * ww, out)


def temporal_merge(ts: TokenSet, threshold: float = 0.95) -> TokenSet:
    """Merge runs of a spatial location across adjacent frames whose tokens barely change.

    Token (t, h, w) joins (t − 1, h, w)'s run when their cosine similarity is at least
    ``threshold``; each run becomes one token at its first frame's place in the sequence,
    positioned at the run's centroid (mean t). The count depends on the content, so it takes
    one video at a time (batch 1); between T·H·W / T and T·H·W grid tokens remain.
    """
    t, h, w = _layout(ts, "temporal_merge")
    if ts.features.shape[0] != 1:
        raise ConfigError(
            f"temporal_merge: batch of {ts.features.shape[0]}; the kept count depends on "
            f"each video, so pass one at a time (TokenSet.sample(i))"
        )
    x = ts.features[0, ts.protected :].reshape(t, h * w, -1)  # (T, HW, D)
    similar = torch.nn.functional.cosine_similarity(x[1:], x[:-1], dim=-1) >= threshold
    starts = torch.cat([similar.new_ones(1, h * w), ~similar])  # (T, HW): token opens a run
    slot = starts.reshape(-1).cumsum(0).reshape(t, h * w) - 1  # slot of each run opener
    frames = torch.arange(t, device=x.device)[:, None].expand(t, h * w)
    opener = torch.where(starts, frames, 0).cummax(dim=0).values  # first frame of each run
    slots = slot.gather(0, opener).reshape(-1)
    return merge_tokens(ts, _with_protected(ts, slots), ts.protected + int(starts.sum()))
