"""Adapters: projector shapes, space-to-depth order, patch merger parity with Qwen2-VL."""

from __future__ import annotations

import pytest
import torch

from mmtok.compress import (
    LinearProjector,
    MLPProjector,
    PatchMerger,
    PixelShuffle,
    count_after,
    merged_grid,
    space_to_depth,
)
from mmtok.errors import ConfigError


def test_space_to_depth_concatenates_row_then_column() -> None:
    # grid 2 × 4 in raster order: row 0 = 0 1 2 3, row 1 = 4 5 6 7
    x = torch.arange(8.0).reshape(1, 8, 1)
    out = space_to_depth(x, (1, 2, 4))
    assert out.tolist() == [[[0.0, 1.0, 4.0, 5.0], [2.0, 3.0, 6.0, 7.0]]]


def test_space_to_depth_keeps_channels_together() -> None:
    x = torch.arange(8.0).reshape(1, 4, 2)  # 2 × 2 grid, tokens (0,1), (2,3), (4,5), (6,7)
    assert space_to_depth(x, (1, 2, 2)).tolist() == [[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]]


@pytest.mark.parametrize(("grid", "factor"), [((1, 4, 6), 2), ((2, 6, 6), 3), ((3, 2, 2), 2)])
def test_pixel_shuffle_and_merger_shapes(grid, factor) -> None:
    t, h, w = grid
    x = torch.randn(2, t * h * w, 8)
    tokens = t * (h // factor) * (w // factor)
    assert PixelShuffle(factor)(x, grid).shape == (2, tokens, 8 * factor * factor)
    assert PatchMerger(8, 12, factor)(x, grid).shape == (2, tokens, 12)
    assert merged_grid(grid, factor) == (t, h // factor, w // factor)
    assert count_after("patch_merger", t * h * w, grid, factor=factor) == tokens


def test_odd_grid_and_wrong_counts_are_refused() -> None:
    with pytest.raises(ConfigError, match="multiples of 2"):
        PixelShuffle()(torch.randn(1, 15, 4), (1, 3, 5))
    with pytest.raises(ConfigError, match="not \\(B, T·H·W, D\\)"):
        PixelShuffle()(torch.randn(1, 15, 4), (1, 4, 4))
    with pytest.raises(ConfigError, match="not divisible"):
        count_after("patch_merger", 15, (1, 3, 5))


@pytest.mark.parametrize(
    "module", [LinearProjector(6, 4), MLPProjector(6, 4), MLPProjector(6, 4, depth=3)]
)
def test_projectors_shape_and_dim_check(module) -> None:
    assert module(torch.randn(3, 5, 6)).shape == (3, 5, 4)
    with pytest.raises(ConfigError, match="dim 7, expected 6"):
        module(torch.randn(3, 5, 7))


def test_patch_merger_dim_check_and_depth() -> None:
    with pytest.raises(ConfigError, match="PatchMerger"):
        PatchMerger(8, 4)(torch.randn(1, 4, 6), (1, 2, 2))
    with pytest.raises(ConfigError, match="depth=0"):
        MLPProjector(4, 4, depth=0)


def test_patch_merger_matches_qwen2_vl_on_window_ordered_input() -> None:
    """Same weights: transformers' merger on window-ordered patches == ours on raster ones."""
    from transformers.models.qwen2_vl.modeling_qwen2_vl import PatchMerger as QwenMerger

    torch.manual_seed(0)
    t, h, w, d = 2, 4, 6, 8
    theirs = QwenMerger(dim=12, context_dim=d, spatial_merge_size=2)
    ours = PatchMerger(d, 12)
    ours.load_state_dict(theirs.state_dict())
    raster = torch.randn(t, h, w, d)
    # Qwen2-VL's processor lists each 2×2 window's patches together, windows row by row
    window = [
        raster[ti, 2 * bh + p, 2 * bw + q]
        for ti in range(t)
        for bh in range(h // 2)
        for bw in range(w // 2)
        for p in range(2)
        for q in range(2)
    ]
    expected = theirs(torch.stack(window))  # (T·H·W/4, 12)
    got = ours(raster.reshape(1, -1, d), (t, h, w))[0]
    torch.testing.assert_close(got, expected)
