"""Resamplers: fixed output count, size-aware attention, errors, trainability."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.compress import PerceiverResampler, QFormerResampler, count_after
from mmtok.errors import ConfigError

RESAMPLERS = [QFormerResampler, PerceiverResampler]


@pytest.fixture(params=RESAMPLERS, ids=lambda cls: cls.__name__)
def resampler(request):
    torch.manual_seed(0)
    return request.param(in_dim=6, num_queries=5, dim=16, depth=2, heads=4, out_dim=3).eval()


@settings(max_examples=15)
@given(n=st.integers(1, 300), batch=st.integers(1, 3))
def test_fixed_count_whatever_the_input_length(n: int, batch: int) -> None:
    for cls in RESAMPLERS:
        module = cls(in_dim=6, num_queries=7, dim=16, depth=1, heads=2)
        out, attention = module.forward_with_attention(torch.randn(batch, n, 6))
        assert out.shape == (batch, 7, 16)
        assert attention.shape == (batch, 7, n)
        torch.testing.assert_close(attention.sum(-1), torch.ones(batch, 7))
    assert count_after("qformer", n, num_queries=7) == 7


def test_size_bias_reads_a_merged_token_like_its_copies(resampler) -> None:
    """Token 1 repeated 3 times ≡ token 1 once with size 3 (log-size attention bias)."""
    x = torch.randn(2, 4, 6)
    repeat = torch.tensor([1, 3, 1, 1])
    duplicated = resampler(x.repeat_interleave(repeat, dim=1))
    merged = resampler(x, size=repeat.float().expand(2, 4))
    torch.testing.assert_close(merged, duplicated)
    assert not torch.allclose(resampler(x), duplicated, atol=1e-5)


def test_errors_name_the_problem(resampler) -> None:
    with pytest.raises(ConfigError, match="dim 5, expected 6"):
        resampler(torch.randn(1, 4, 5))
    with pytest.raises(ConfigError, match="size"):
        resampler(torch.randn(1, 4, 6), size=torch.ones(1, 3))
    with pytest.raises(ConfigError, match="not divisible by heads=3"):
        QFormerResampler(in_dim=6, dim=16, heads=3)
    with pytest.raises(ConfigError, match="num_queries=0"):
        PerceiverResampler(in_dim=6, num_queries=0)


def test_gradients_reach_the_queries(resampler) -> None:
    resampler.train()
    resampler(torch.randn(2, 9, 6)).pow(2).sum().backward()
    assert resampler.queries.grad is not None and resampler.queries.grad.abs().sum() > 0
