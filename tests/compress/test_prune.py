"""Pruning: exact top-k in original order, score functions, progressive schedules."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.compress import (
    LearnedScore,
    TokenSet,
    cls_attention_scores,
    count_after,
    distinctiveness_scores,
    keep_schedule,
    prune,
    text_attention_scores,
)
from mmtok.errors import ConfigError


def test_keeps_top_k_in_original_order() -> None:
    x = torch.tensor([[[10.0], [11.0], [12.0], [13.0], [14.0]]])
    ts = TokenSet.from_grid(x, (1, 1, 5))
    out = prune(ts, torch.tensor([[0.1, 0.9, 0.3, 0.8, 0.5]]), keep=3)
    # the three best are tokens 1 (0.9), 3 (0.8), 4 (0.5), listed in sequence order
    assert out.features.flatten().tolist() == [11.0, 13.0, 14.0]
    assert out.origin.tolist() == [[-1, 0, -1, 1, 2]]
    assert out.positions[0, :, 2].tolist() == [1.0, 3.0, 4.0]  # pruning never moves tokens


def test_protected_token_survives_a_low_score() -> None:
    ts = TokenSet.from_grid(torch.arange(4.0)[None, :, None], (1, 1, 3), protected=1)
    out = prune(ts, torch.tensor([[-100.0, 3.0, 1.0, 2.0]]), keep=2)
    assert out.features.flatten().tolist() == [0.0, 1.0]


@settings(max_examples=50)
@given(
    n=st.integers(1, 80), fraction=st.floats(0, 1), protected=st.integers(0, 2), seed=st.integers()
)
def test_exact_count_and_same_set_as_sorting(n, fraction, protected, seed) -> None:
    gen = torch.Generator().manual_seed(seed % 2**32)
    total = n + protected
    keep = protected + int(fraction * n)
    scores = torch.randperm(total, generator=gen)[None].float()  # distinct: no ties
    ts = TokenSet.from_grid(torch.randn(1, total, 3, generator=gen), (1, 1, n), protected)
    out = prune(ts, scores, keep)
    assert out.n == keep == count_after("prune", total, keep=keep, protected=protected)
    kept = (out.origin[0] >= 0).nonzero().flatten().tolist()
    # reference: protected tokens plus the best-scored others, in index order
    others = sorted(range(protected, total), key=lambda i: -scores[0, i].item())
    expected = sorted(list(range(protected)) + others[: keep - protected])
    assert kept == expected
    assert out.origin[0, kept].tolist() == list(range(keep))  # original order kept


@pytest.mark.parametrize(("keep", "protected"), [(6, 0), (0, 1), (-1, 0)])
def test_bad_keep_is_refused(keep: int, protected: int) -> None:
    ts = TokenSet.from_grid(torch.randn(1, 5, 3), (1, 1, 5 - protected), protected)
    with pytest.raises(ConfigError, match=f"keep={keep}"):
        prune(ts, torch.zeros(1, 5), keep)


def test_score_shape_mismatch_is_refused() -> None:
    ts = TokenSet.from_grid(torch.randn(2, 4, 3), (1, 2, 2))
    with pytest.raises(ConfigError, match="scores"):
        prune(ts, torch.zeros(2, 5), 2)


def test_cls_attention_scores_average_heads() -> None:
    attention = torch.zeros(1, 2, 3, 3)
    attention[0, 0, 0] = torch.tensor([0.2, 0.5, 0.3])
    attention[0, 1, 0] = torch.tensor([0.4, 0.1, 0.5])
    attention[0, :, 1] = 1.0  # another query's row: must not count
    assert cls_attention_scores(attention)[0].tolist() == pytest.approx([0.3, 0.3, 0.4])


def test_text_attention_scores_use_last_query_on_image_span() -> None:
    # sequence: [text, img, img, img, text]; FastV votes with the last token
    attention = torch.zeros(1, 1, 5, 5)
    attention[0, 0, 4] = torch.tensor([0.1, 0.2, 0.6, 0.05, 0.05])
    attention[0, 0, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    scores = text_attention_scores(attention, image=slice(1, 4))
    assert scores[0].tolist() == pytest.approx([0.2, 0.6, 0.05])
    both = text_attention_scores(attention, image=slice(1, 4), queries=slice(0, 5, 4))
    assert both[0].tolist() == pytest.approx([0.1, 0.3, 0.025])


def test_distinctiveness_scores() -> None:
    x = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]])  # mean = (0.5, 0)
    assert distinctiveness_scores(x)[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 2.0])


def test_learned_score_shapes_and_dim_check() -> None:
    scorer = LearnedScore(dim=6, hidden=4)
    assert scorer(torch.randn(2, 9, 6)).shape == (2, 9)
    with pytest.raises(ConfigError, match="expects 6"):
        scorer(torch.randn(2, 9, 5))


def test_keep_schedules_fastv_and_progressive() -> None:
    # FastV: prune once after layer K = 2, from 576 to 144 tokens
    assert keep_schedule(576, 144, layers=4, start=2) == [576, 576, 144, 144]
    # progressive: cut 432 evenly over 4 layers, 108 per layer
    assert keep_schedule(576, 144, layers=4, steps=4) == [468, 360, 252, 144]
    # uneven: cut 10 over 3 layers → 3.33, 6.67, 10 rounded
    assert keep_schedule(20, 10, layers=3, steps=3) == [17, 13, 10]
    with pytest.raises(ConfigError, match="keep=30"):
        keep_schedule(20, 30, layers=3)
    with pytest.raises(ConfigError, match="within 3 layers"):
        keep_schedule(20, 10, layers=3, start=2, steps=2)
