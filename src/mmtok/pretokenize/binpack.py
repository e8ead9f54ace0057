"""Bin packing of sample lengths into fixed-capacity sequences: first-fit decreasing.

Samples are taken longest first; each goes into the first (lowest-numbered) open sequence
with room, or opens a new one. First-fit decreasing never uses more than
``11/9 · OPT + 6/9`` sequences, and on training length mixes (many samples per sequence)
fills them to within a fraction of a percent of the lower bound ``⌈Σ lengths / capacity⌉``.

"First sequence with room" is found in ``O(log n)`` with a max-tree over the sequences'
free space: a leaf per possible sequence (unopened ones hold the full capacity, so the
leftmost leaf with room is an open sequence if any fits, else the next new one), an inner
node holds the larger free space of its two children.
"""

from __future__ import annotations

import numpy as np


def first_fit_decreasing(
    lengths: np.ndarray, capacity: int, order: np.ndarray | None = None
) -> np.ndarray:
    """The sequence index of every sample ``(n,)``, sequences numbered as they open.

    ``lengths`` ``(n,)`` tokens, each in ``1 … capacity``; samples of equal length are taken
    in ``order`` (a permutation of ``range(n)``; default: input order).
    """
    n = len(lengths)
    bins = np.zeros(n, dtype=np.int64)
    if n == 0:
        return bins
    order = np.arange(n) if order is None else np.asarray(order)
    # stable sort of the permuted samples by decreasing length: ties keep ``order``
    by_length = order[np.argsort(-np.asarray(lengths)[order], kind="stable")]
    size = 1 << (n - 1).bit_length()
    tree = [capacity] * (2 * size)  # free tokens; leaves size … 2·size − 1
    need = np.asarray(lengths)[by_length].tolist()
    placed = []
    for length in need:
        node = 1
        while node < size:  # descend to the leftmost leaf with room
            node = 2 * node if tree[2 * node] >= length else 2 * node + 1
        placed.append(node - size)
        tree[node] -= length
        node //= 2
        while node:  # refresh the maxima above it, stopping where nothing changes
            best = max(tree[2 * node], tree[2 * node + 1])
            if tree[node] == best:
                break
            tree[node] = best
            node //= 2
    bins[by_length] = placed
    return bins


def lower_bound(lengths: np.ndarray, capacity: int) -> int:
    """The fewest sequences any packing needs: ``⌈Σ lengths / capacity⌉``."""
    return -(-int(np.sum(lengths)) // capacity)
