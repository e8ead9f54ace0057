"""Information kept: reconstruction from provenance, explained variance, averaging, visuals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mmtok.compress import (
    EvalRow,
    TokenSet,
    compress_to,
    evaluate_features,
    explained_variance,
    merge_tokens,
    prune,
    quality,
    reconstruct,
    summarise,
)
from mmtok.compress.methods import Compressed
from mmtok.compress.visual import draw_overlay, group_colours


def row(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)[None, :, None]


def from_tokens(ts: TokenSet) -> Compressed:
    return Compressed("test", ts.features, ts.read(), ts.positions)


def test_merged_patches_become_their_group_mean() -> None:
    ts = TokenSet.from_grid(row([1, 3, 10, 20]), (1, 1, 4))
    merged = merge_tokens(ts, torch.tensor([[0, 0, 1, 1]]), 2)
    rebuilt = reconstruct(ts.features, from_tokens(merged), ts.grid)
    assert rebuilt.flatten().tolist() == [2.0, 2.0, 15.0, 15.0]
    # error 1+1+25+25 = 52; spread around the mean 8.5: 56.25+30.25+2.25+132.25 = 221
    assert explained_variance(ts.features, rebuilt).item() == pytest.approx(1 - 52 / 221)


def test_pruned_patches_borrow_the_nearest_kept_token() -> None:
    ts = TokenSet.from_grid(row([1, 2, 3, 4, 5]), (1, 1, 5))
    kept = prune(ts, torch.tensor([[1.0, 0, 0, 0, 1.0]]), 2)  # keep w = 0 and w = 4
    rebuilt = reconstruct(ts.features, from_tokens(kept), ts.grid)
    # w = 1 is nearest to 0, w = 3 to 4; w = 2 ties (argmin takes the first: w = 0)
    assert rebuilt.flatten().tolist() == [1.0, 1.0, 1.0, 5.0, 5.0]


def test_lossless_and_mean_only_extremes() -> None:
    ts = TokenSet.from_grid(torch.randn(1, 12, 4), (1, 3, 4))
    assert quality(ts, compress_to(ts, "tome", 12)).item() == pytest.approx(1.0)
    one = compress_to(ts, "tome", 1)
    assert quality(ts, one).item() == pytest.approx(0.0, abs=1e-6)  # a single mean token


def test_evaluate_features_skips_counts_above_the_input() -> None:
    rows = evaluate_features(torch.randn(1, 16, 4), (1, 4, 4), ["tome", "pool"], [4, 32])
    assert [(r.method, r.keep, r.tokens) for r in rows] == [("tome", 4, 4), ("pool", 4, 4)]


def test_summarise_weights_by_images() -> None:
    rows = [
        EvalRow("tome", 4, 4, 0.5, 1),
        EvalRow("pool", 4, 4, 0.1, 1),
        EvalRow("tome", 4, 4, 0.8, 3),
    ]
    tome, pool = summarise(rows)
    assert (tome.method, tome.images, pool.images) == ("tome", 4, 1)
    assert tome.quality == pytest.approx((0.5 + 3 * 0.8) / 4)


def test_group_colours_are_distinct() -> None:
    colours = group_colours(64)
    assert colours.shape == (64, 3) and len({tuple(c) for c in colours}) == 64


def test_overlay_scales_the_grid_to_the_image() -> None:
    image = Image.new("RGB", (40, 20), (200, 200, 200))
    owner = torch.tensor([0, -1, 1, 1])  # 1 × 4 grid: kept, pruned, then a merged pair
    drawn = np.asarray(draw_overlay(image, owner, (1, 1, 4)))
    assert drawn[10, 5].tolist() == [200, 200, 200]  # kept alone: untouched
    assert drawn[10, 15].tolist() == [50, 50, 50]  # pruned: 200 · 0.25
    tint = group_colours(3)[1].astype(float)
    expected = (0.55 * 200 + 0.45 * tint).astype(np.uint8)
    assert drawn[10, 25].tolist() == expected.tolist()  # merged pair: tinted, no inner border
    assert drawn[10, 35].tolist() == expected.tolist()
