"""TokenSet: construction from a grid, size-weighted merging, pruning, provenance invariants."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.compress import TokenSet, keep_tokens, merge_tokens, pool, prune, tome_merge
from mmtok.errors import ConfigError


def column(values: list[float]) -> torch.Tensor:
    """(1, N, 1) features from a list: one scalar feature per token."""
    return torch.tensor(values, dtype=torch.float32)[None, :, None]


def test_from_grid_positions_are_raster_t_h_w() -> None:
    ts = TokenSet.from_grid(torch.zeros(2, 1 + 12, 4), (2, 2, 3), protected=1)
    # token 1 + 7: 7 = t·6 + h·3 + w with t=1, h=0, w=1
    assert ts.positions[0, 8].tolist() == [1.0, 0.0, 1.0]
    assert ts.positions[1, 12].tolist() == [1.0, 1.0, 2.0]
    assert ts.positions[0, 0].tolist() == [-1.0, -1.0, -1.0]  # protected [CLS]
    assert ts.size.tolist() == [[1.0] * 13] * 2
    assert ts.origin[0].tolist() == list(range(13))
    assert ts.layout == (2, 2, 3)


@pytest.mark.parametrize(
    ("shape", "grid", "protected"),
    [((1, 12, 4), (2, 2, 2), 0), ((1, 9, 4), (1, 3, 3), 1), ((12, 4), (1, 3, 4), 0)],
)
def test_from_grid_rejects_mismatched_counts(shape, grid, protected) -> None:
    with pytest.raises(ConfigError, match="features"):
        TokenSet.from_grid(torch.zeros(shape), grid, protected)


def test_merging_is_size_weighted() -> None:
    ts = TokenSet.from_grid(column([1, 3, 5, 7]), (1, 1, 4))
    three = merge_tokens(ts, torch.tensor([[0, 0, 0, 1]]), 2)
    assert three.features.flatten().tolist() == [3.0, 7.0]
    assert three.size.tolist() == [[3.0, 1.0]]
    one = merge_tokens(three, torch.tensor([[0, 0]]), 1)
    # the plain mean of 3 and 7 would be 5; weighted by size it is the mean of all four: 4
    assert one.features.item() == pytest.approx(4.0)
    assert one.size.tolist() == [[4.0]]
    # centroid of w = 0, 1, 2, 3
    assert one.positions[0, 0].tolist() == pytest.approx([0.0, 0.0, 1.5])
    assert one.origin.tolist() == [[0, 0, 0, 0]]
    assert one.layout is None


def test_keep_tokens_marks_pruned_provenance() -> None:
    ts = TokenSet.from_grid(column([10, 11, 12, 13, 14]), (1, 1, 5))
    kept = keep_tokens(ts, torch.tensor([[1, 4]]))
    assert kept.features.flatten().tolist() == [11.0, 14.0]
    assert kept.origin.tolist() == [[-1, 0, -1, -1, 1]]
    assert kept.positions[0, :, 2].tolist() == [1.0, 4.0]


def test_members_and_read_follow_origin() -> None:
    ts = TokenSet.from_grid(column([1, 2, 3]), (1, 1, 3))
    merged = merge_tokens(ts, torch.tensor([[0, 1, 0]]), 2)
    assert merged.members()[0].tolist() == [[True, False, True], [False, True, False]]
    assert merged.read()[0].tolist() == [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]


def test_sample_and_with_features() -> None:
    ts = TokenSet.from_grid(torch.arange(2 * 4 * 3.0).reshape(2, 4, 3), (1, 2, 2))
    second = ts.sample(1)
    assert second.features.shape == (1, 4, 3)
    assert torch.equal(second.features[0], ts.features[1])
    widened = ts.with_features(torch.zeros(2, 4, 7))
    assert widened.features.shape == (2, 4, 7)
    assert widened.origin is ts.origin


# A random pipeline of operators: each step is (name, fraction) applied in order.
steps = st.lists(
    st.tuples(st.sampled_from(["tome", "prune", "pool"]), st.floats(0.0, 1.0)), max_size=4
)


@settings(max_examples=40)
@given(
    t=st.integers(1, 2),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    protected=st.integers(0, 2),
    pipeline=steps,
    seed=st.integers(0, 2**16),
)
def test_invariants_survive_any_pipeline(t, h, w, protected, pipeline, seed) -> None:
    """After any chain: sizes count members, features and positions are member means."""
    gen = torch.Generator().manual_seed(seed)
    n = protected + t * h * w
    original = torch.randn(2, n, 5, generator=gen, dtype=torch.float64)
    ts = TokenSet.from_grid(original, (t, h, w), protected)
    start_positions = ts.positions.double()
    pruned_any = False
    for name, fraction in pipeline:
        if name == "tome":
            ts = tome_merge(ts, int(fraction * ((ts.n - protected) // 2)))
        elif name == "prune":
            keep = protected + int(fraction * (ts.n - protected))
            ts = prune(ts, torch.rand(2, ts.n, generator=gen), keep)
            pruned_any = True
        elif ts.layout is not None:
            ts = pool(ts, 2)
    members = ts.members().double()  # (B, N, N0)
    assert torch.equal(members.sum(-1), ts.size.double())  # size = number of members
    assert (ts.size >= 1).all()  # no empty token
    assert (members.sum(1) <= 1).all()  # each original in at most one token
    if not pruned_any:
        assert (ts.origin >= 0).all() and ts.size.sum(-1).tolist() == [n, n]
    mean = members @ original / ts.size[..., None].double()
    torch.testing.assert_close(ts.features, mean)
    centroid = members @ start_positions / ts.size[..., None].double()
    torch.testing.assert_close(ts.positions.double(), centroid, rtol=1e-5, atol=1e-5)
    assert torch.equal(ts.origin[:, :protected], torch.arange(protected).expand(2, -1))
