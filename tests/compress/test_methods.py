"""Methods by name: the planner's count formulas agree with what the operators produce."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.compress import METHODS, TokenSet, compress_to, count_after
from mmtok.compress.methods import pool_window
from mmtok.errors import ConfigError


def test_count_formulas_by_hand() -> None:
    # Qwen2-VL 448×448 image: 32 × 32 patches of 14, merged 2×2 → 256 tokens
    assert count_after("patch_merger", 1024, (1, 32, 32)) == 256
    # LLaVA-1.5 336 px: 24 × 24 = 576; 2×2 pooling → 144, 3×3 → 64
    assert count_after("pool", 576, (1, 24, 24)) == 144
    assert count_after("pool", 576, (1, 24, 24), window=3) == 64
    assert count_after("tome", 577, keep=200, protected=1) == 200
    assert count_after("tome", 576, r=[100, 50, 0]) == 426
    assert count_after("perceiver", 10_000, num_queries=64) == 64
    assert count_after("qformer", 576, keep=32) == 32


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        ("pool", {}, "needs the"),
        ("pool", {"grid": (1, 3, 3)}, "do not match"),
        ("prune", {"keep": 11}, "keep=11"),
        ("tome", {}, "give r"),
        ("tome", {"r": 6}, "r=6"),
        ("qformer", {}, "num_queries"),
        ("dither", {}, "unknown"),
    ],
)
def test_count_after_refuses_what_the_operator_would(method, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        count_after(method, 10, **kwargs)


@settings(max_examples=25)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    fraction=st.floats(0.01, 1.0),
    method=st.sampled_from(["tome", "prune", "pool", "qformer", "perceiver"]),
)
def test_compress_to_produces_the_planned_count(h, w, fraction, method) -> None:
    n = h * w
    keep = max(1, int(fraction * n))
    ts = TokenSet.from_grid(torch.randn(1, n, 8), (1, h, w))
    out = compress_to(ts, method, keep)
    if method == "pool":
        window = pool_window((1, h, w), keep)
        assert out.n_tokens == count_after("pool", n, (1, h, w), window=window) <= keep
    else:
        assert out.n_tokens == count_after(method, n, keep=keep) == keep
    assert out.read.shape == (1, out.n_tokens, n)
    torch.testing.assert_close(out.read.sum(-1), torch.ones(1, out.n_tokens))


def test_pool_window_is_the_smallest_that_fits() -> None:
    assert pool_window((1, 24, 24), 576) == 1
    assert pool_window((1, 24, 24), 200) == 2  # 144
    assert pool_window((1, 24, 24), 100) == 3  # 64
    with pytest.raises(ConfigError, match="one per frame"):
        pool_window((4, 2, 2), 3)


def test_resamplers_are_reproducible_and_seeded() -> None:
    ts = TokenSet.from_grid(torch.randn(1, 16, 8), (1, 4, 4))
    a, b = compress_to(ts, "qformer", 4, seed=1), compress_to(ts, "qformer", 4, seed=1)
    assert torch.equal(a.features, b.features)
    assert not torch.equal(a.features, compress_to(ts, "qformer", 4, seed=2).features)
    assert a.positions.shape == (1, 4, 3)


def test_compress_to_refuses_temporal_and_unknown() -> None:
    ts = TokenSet.from_grid(torch.randn(1, 4, 2), (1, 2, 2))
    with pytest.raises(ConfigError, match="cannot target"):
        compress_to(ts, "temporal", 2)
    assert "temporal" in METHODS
