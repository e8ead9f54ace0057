"""Spatial pooling and temporal merging: shapes, hand-computed means, counts, positions."""

from __future__ import annotations

import pytest
import torch

from mmtok.compress import TokenSet, count_after, pool, pooled_grid, temporal_merge, tome_merge
from mmtok.errors import ConfigError


def grid_features(t: int, h: int, w: int) -> torch.Tensor:
    """(1, T·H·W, 1): the token at (t, h, w) holds 100·t + 10·h + w."""
    tt, hh, ww = torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
    return (100 * tt + 10 * hh + ww).float().reshape(1, -1, 1)


def test_pool_2x2_block_means_and_centroids() -> None:
    out = pool(TokenSet.from_grid(grid_features(1, 4, 4), (1, 4, 4)))
    # block (0, 0) holds 0, 1, 10, 11 → 5.5; block (1, 1) holds 22, 23, 32, 33 → 27.5
    assert out.features.flatten().tolist() == [5.5, 7.5, 25.5, 27.5]
    assert out.positions[0].tolist() == [
        [0.0, 0.5, 0.5],
        [0.0, 0.5, 2.5],
        [0.0, 2.5, 0.5],
        [0.0, 2.5, 2.5],
    ]
    assert out.size.tolist() == [[4.0] * 4]
    assert out.layout == (1, 2, 2)


def test_pool_ragged_edges_make_smaller_windows() -> None:
    out = pool(TokenSet.from_grid(grid_features(1, 3, 3), (1, 3, 3)))
    assert out.size.tolist() == [[4.0, 2.0, 2.0, 1.0]]
    # right column block holds 2 and 12 → 7; bottom-right corner is 22 alone
    assert out.features.flatten().tolist() == [5.5, 7.0, 20.5, 22.0]
    assert count_after("pool", 9, (1, 3, 3)) == 4
    assert count_after("pool", 2 + 30, (2, 3, 5), protected=2) == 2 + 2 * 2 * 3


def test_pool_twice_equals_pool_by_four() -> None:
    ts = TokenSet.from_grid(torch.randn(2, 1 + 2 * 8 * 6, 5), (2, 8, 6), protected=1)
    twice, once = pool(pool(ts, 2), 2), pool(ts, 4)
    torch.testing.assert_close(twice.features, once.features)
    torch.testing.assert_close(twice.positions, once.positions)
    assert torch.equal(twice.origin, once.origin) and torch.equal(twice.size, once.size)
    assert twice.layout == once.layout == pooled_grid((2, 8, 6), 4) == (2, 2, 2)
    torch.testing.assert_close(once.features[:, 0], ts.features[:, 0])  # [CLS] untouched


def test_pool_needs_a_grid() -> None:
    ts = tome_merge(TokenSet.from_grid(torch.randn(1, 16, 3), (1, 4, 4)), 2)
    with pytest.raises(ConfigError, match="no longer form a grid"):
        pool(ts)
    with pytest.raises(ConfigError, match="window=0"):
        pool(TokenSet.from_grid(torch.randn(1, 4, 3), (1, 2, 2)), 0)


def test_temporal_merge_runs_of_static_tokens() -> None:
    # 3 frames of 1×2: location 0 never changes, location 1 points elsewhere every frame
    static = torch.tensor([1.0, 0.0, 0.0])
    moving = [torch.tensor(v) for v in ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0])]
    frames = [torch.stack([static, moving[t]]) for t in range(3)]
    x = torch.stack(frames).reshape(1, 6, 3)
    out = temporal_merge(TokenSet.from_grid(x, (3, 1, 2)), threshold=0.9)
    # run (loc 0, t 0..2) at its first frame's place, then loc 1 at t = 0, 1, 2
    assert out.n == 4
    assert out.size.tolist() == [[3.0, 1.0, 1.0, 1.0]]
    assert out.positions[0].tolist() == [
        [1.0, 0.0, 0.0],  # mean t of frames 0, 1, 2
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 1.0],
        [2.0, 0.0, 1.0],
    ]
    assert out.origin.tolist() == [[0, 1, 0, 2, 0, 3]]
    assert count_after("temporal", 6, (3, 1, 2)) == 6  # upper bound: nothing merges


def test_temporal_merge_breaks_runs_at_a_change() -> None:
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    x = torch.stack([a, 1.01 * a, b, b]).reshape(1, 4, 2)  # frames A A' B B at one location
    out = temporal_merge(TokenSet.from_grid(x, (4, 1, 1)), threshold=0.99)
    assert out.size.tolist() == [[2.0, 2.0]]
    torch.testing.assert_close(out.features[0], torch.tensor([[1.005, 0.0], [0.0, 1.0]]))
    assert out.positions[0, :, 0].tolist() == [0.5, 2.5]


def test_temporal_merge_keeps_protected_and_refuses_batches() -> None:
    x = torch.cat([torch.full((1, 1, 2), 7.0), torch.ones(1, 4, 2)], dim=1)
    out = temporal_merge(TokenSet.from_grid(x, (4, 1, 1), protected=1))
    assert out.n == 2 and out.features[0, 0].tolist() == [7.0, 7.0]
    with pytest.raises(ConfigError, match="batch of 2"):
        temporal_merge(TokenSet.from_grid(torch.ones(2, 4, 2), (4, 1, 1)))
