"""ToMe: bipartite soft matching, exact counts, protected tokens, proportional attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.compress import (
    TokenSet,
    bipartite_assignment,
    count_after,
    merge_counts,
    merge_schedule,
    rounds_to_keep,
    size_bias,
    tome_merge,
)
from mmtok.errors import ConfigError


def test_most_similar_pair_merges_and_order_is_kept() -> None:
    # A side = tokens 0, 2; B side = 1, 3. Token 0 equals token 3 (cos 1); token 2 is close
    # to token 1 (cos 1/√1.01 ≈ 0.995). With r = 1 only the best proposal, 0 → 3, merges.
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.1, 1.0], [1.0, 0.0]]])
    assert bipartite_assignment(x, 1).tolist() == [[2, 0, 1, 2]]
    ts = tome_merge(TokenSet.from_grid(x, (1, 1, 4)), 1)
    torch.testing.assert_close(ts.features[0], torch.tensor([[0.0, 1.0], [0.1, 1.0], [1.0, 0.0]]))
    assert ts.size.tolist() == [[1.0, 1.0, 2.0]]
    assert ts.positions[0, :, 2].tolist() == [1.0, 2.0, 1.5]  # centroid of w = 0 and 3
    # r = 2: 2 → 1 merges too: [(x1 + x2) / 2, (x0 + x3) / 2]
    two = tome_merge(TokenSet.from_grid(x, (1, 1, 4)), 2)
    torch.testing.assert_close(two.features[0], torch.tensor([[0.05, 1.0], [1.0, 0.0]]))


def test_merge_uses_metric_not_features() -> None:
    features = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    keys = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])  # 0 ~ 3, 2 ~ 1
    ts = tome_merge(TokenSet.from_grid(features, (1, 1, 4)), 1, metric=keys)
    # Both proposals are perfect (cos 1); whichever wins, sizes and total stay exact.
    assert ts.n == 3
    assert sorted(ts.features.flatten().tolist()) in ([2.0, 2.5, 3.0], [1.0, 2.5, 4.0])


@settings(max_examples=60)
@given(
    n_patches=st.integers(2, 60),
    protected=st.integers(0, 3),
    fraction=st.floats(0.0, 1.0),
    batch=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_exactly_r_leave_protected_first_sizes_partition(
    n_patches, protected, fraction, batch, seed
) -> None:
    gen = torch.Generator().manual_seed(seed)
    n = protected + n_patches
    x = torch.randn(batch, n, 8, generator=gen)
    ts = TokenSet.from_grid(x, (1, 1, n_patches), protected)
    r = int(fraction * (n_patches // 2))
    out = tome_merge(ts, r)
    assert out.n == n - r
    assert torch.equal(out.features[:, :protected], x[:, :protected])
    assert (out.size[:, :protected] == 1).all()
    assert (out.positions[:, :protected] == -1).all()
    assert out.size.sum(-1).tolist() == [float(n)] * batch
    assert (out.origin >= 0).all()  # merging never loses an original patch
    counts = torch.stack([row.bincount(minlength=out.n) for row in out.origin]).float()
    assert torch.equal(counts, out.size)  # each token's size = how many originals it holds


@pytest.mark.parametrize(("n", "protected", "r"), [(5, 1, 3), (4, 0, 3), (10, 2, -1)])
def test_r_above_half_is_refused(n, protected, r) -> None:
    ts = TokenSet.from_grid(torch.randn(1, n, 4), (1, 1, n - protected), protected)
    with pytest.raises(ConfigError, match=f"r={r}"):
        tome_merge(ts, r)


def test_metric_shape_mismatch_is_refused() -> None:
    ts = TokenSet.from_grid(torch.randn(2, 6, 4), (1, 2, 3))
    with pytest.raises(ConfigError, match="metric"):
        tome_merge(ts, 1, metric=torch.randn(2, 5, 4))


@pytest.mark.parametrize("s", [2, 3, 7])
def test_size_bias_equals_duplicated_keys(s: int) -> None:
    """A key of size s with log(s) bias attends like s copies of that key (and its value)."""
    gen = torch.Generator().manual_seed(s)
    q = torch.randn(1, 2, 3, 8, generator=gen)  # (B, heads, Q, d)
    k = torch.randn(1, 2, 5, 8, generator=gen)
    v = torch.randn(1, 2, 5, 8, generator=gen)
    repeat = torch.tensor([1, 1, s, 1, 1])  # token 2 stands for s identical tokens
    duplicated = F.scaled_dot_product_attention(
        q, k.repeat_interleave(repeat, dim=2), v.repeat_interleave(repeat, dim=2)
    )
    size = repeat.float()[None]  # (B, N)
    merged = F.scaled_dot_product_attention(q, k, v, attn_mask=size_bias(size))
    torch.testing.assert_close(merged, duplicated)
    unbiased = F.scaled_dot_product_attention(q, k, v)
    assert not torch.allclose(unbiased, duplicated, atol=1e-4)


def test_merge_schedules() -> None:
    assert merge_schedule(8, 3) == [8, 8, 8]
    # ToMe's decreasing schedule: 1.5·r → 0.5·r linearly, floored: 12, 9.33, 6.67, 4
    assert merge_schedule(8, 4, "decreasing") == [12, 9, 6, 4]
    assert merge_schedule([5, 0, 2], 3) == [5, 0, 2]
    with pytest.raises(ConfigError, match="3 layers"):
        merge_schedule([1, 2], 3)
    with pytest.raises(ConfigError, match="kind"):
        merge_schedule(4, 2, "sideways")  # type: ignore[arg-type]


def test_merge_counts_and_layer_named_in_error() -> None:
    # ViT-B/16 at 224: 197 tokens with [CLS]; r = 8 over 12 layers leaves 197 − 96 = 101
    assert merge_counts(197, [8] * 12, protected=1)[-1] == 101
    assert count_after("tome", 197, r=8, layers=12, protected=1) == 101
    assert merge_counts(10, [4, 2]) == [6, 4]
    with pytest.raises(ConfigError, match="layer 1"):
        merge_counts(10, [4, 4])  # 6 left after layer 0: at most 3 can go


def test_rounds_to_keep_halves_then_finishes() -> None:
    # 100 → 50 (−50) → 25 (−25) → 13 (−12, half of 25) → 10 (−3)
    assert rounds_to_keep(100, 10) == [50, 25, 12, 3]
    assert rounds_to_keep(9, 5, protected=1) == [4]
    assert rounds_to_keep(7, 7) == []
    with pytest.raises(ConfigError, match="keep=1"):
        rounds_to_keep(9, 1, protected=1)  # [CLS] plus at least one merged token
    with pytest.raises(ConfigError, match="keep=12"):
        rounds_to_keep(9, 12)
