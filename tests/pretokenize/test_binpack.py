"""First-fit decreasing: equal to the textbook algorithm written plainly, within capacity,
near the lower bound on a realistic length mix."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.pretokenize.binpack import first_fit_decreasing, lower_bound


def _textbook(lengths, capacity):
    """Longest first (ties in input order), each into the first bin with room."""
    free, bins = [], [0] * len(lengths)
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for b, room in enumerate(free):
            if room >= lengths[i]:
                free[b] -= lengths[i]
                bins[i] = b
                break
        else:
            free.append(capacity - lengths[i])
            bins[i] = len(free) - 1
    return bins


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64).flatmap(lambda c: st.tuples(st.just(c), st.lists(st.integers(1, c)))))
def test_equals_the_textbook_algorithm(case):
    capacity, lengths = case
    bins = first_fit_decreasing(np.array(lengths, dtype=np.int64), capacity)
    assert bins.tolist() == _textbook(lengths, capacity)
    if lengths:
        assert (np.bincount(bins, weights=lengths) <= capacity).all()
        assert bins.max() + 1 >= lower_bound(np.array(lengths), capacity)


def test_order_breaks_ties_only():
    lengths = np.array([3, 3, 3, 5])
    assert first_fit_decreasing(lengths, 6).tolist() == [1, 1, 2, 0]  # 5 | 3+3 | 3
    assert first_fit_decreasing(lengths, 6, np.array([2, 1, 0, 3])).tolist() == [2, 1, 1, 0]


def test_a_realistic_mix_packs_at_least_97_percent_full():
    # chat and caption samples: log-normal lengths (median ~700 tokens), a tail of long
    # image/video samples, everything within one 8k context
    rng = np.random.default_rng(0)
    lengths = np.concatenate(
        [rng.lognormal(6.5, 0.9, 20_000), rng.uniform(2_000, 8_192, 1_000)]
    ).astype(np.int64)
    lengths = np.clip(lengths, 1, 8_192)
    bins = first_fit_decreasing(lengths, 8_192)
    rows = int(bins.max()) + 1
    assert lengths.sum() / (rows * 8_192) >= 0.97
    assert rows <= lower_bound(lengths, 8_192) + 1
