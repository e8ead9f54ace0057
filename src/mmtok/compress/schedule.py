"""Per-layer schedules for merging (tokens removed) and pruning (tokens kept).

Pure arithmetic on token counts, validated here once, so a model loop and the budget planner
agree on every layer's count before any tensor exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from mmtok.errors import ConfigError

MergeKind = Literal["constant", "decreasing"]


def merge_schedule(r: int | Sequence[int], layers: int, kind: MergeKind = "constant") -> list[int]:
    """Tokens ToMe removes at each of ``layers`` layers.

    ``constant``: r every layer. ``decreasing``: ToMe's inflected schedule, linear from 1.5·r
    down to 0.5·r (about r·layers in total, more merging early when tokens are redundant).
    A sequence is taken as the per-layer list itself.
    """
    if not isinstance(r, int):
        rs = [int(v) for v in r]
        if len(rs) != layers:
            raise ConfigError(f"r: per-layer list has {len(rs)} entries for {layers} layers")
    elif kind == "constant":
        rs = [r] * layers
    elif kind == "decreasing":
        first, last = int(1.5 * r), 2 * r - int(1.5 * r)
        span = max(layers - 1, 1)  # integer floor of ToMe's float steps, without its rounding
        rs = [first + (last - first) * i // span for i in range(layers)]
    else:
        raise ConfigError(f"kind: unknown merge schedule {kind!r} (constant, decreasing)")
    if any(v < 0 for v in rs):
        raise ConfigError(f"r: negative entry in schedule {rs}")
    return rs


def check_r(n: int, r: int, protected: int = 0, layer: int | None = None) -> None:
    """Raise ConfigError unless 0 ≤ r ≤ ⌊(n − protected) / 2⌋, the smaller bipartite side."""
    limit = (n - protected) // 2
    if not 0 <= r <= limit:
        at = "" if layer is None else f" at layer {layer}"
        raise ConfigError(
            f"r={r}{at}: ToMe can remove at most half of the {n - protected} mergeable "
            f"tokens ({limit}) in one step"
        )


def merge_counts(n: int, rs: Sequence[int], protected: int = 0) -> list[int]:
    """Token count after each merging layer (validated with ``check_r`` layer by layer)."""
    counts = []
    for layer, r in enumerate(rs):
        check_r(n, r, protected, layer)
        n -= r
        counts.append(n)
    return counts


def rounds_to_keep(n: int, keep: int, protected: int = 0) -> list[int]:
    """Fewest merging rounds that take n tokens to exactly ``keep``: halve while needed."""
    low = min(n, protected + 1)  # all mergeable tokens in one, protected ones untouched
    if not low <= keep <= n:
        raise ConfigError(
            f"keep={keep}: must be in [{low}, {n}] for {n} tokens ({protected} protected)"
        )
    rs = []
    while n > keep:
        r = min((n - protected) // 2, n - keep)
        rs.append(r)
        n -= r
    return rs


def keep_schedule(n: int, keep: int, layers: int, start: int = 0, steps: int = 1) -> list[int]:
    """Tokens kept after each layer when pruning from n to ``keep``.

    Nothing is pruned before layer ``start``; the cut is then spread evenly over ``steps``
    layers. ``steps=1`` is FastV (one cut after layer K = start); ``steps=layers - start``
    prunes progressively at every layer.
    """
    if not 0 <= keep <= n:
        raise ConfigError(f"keep={keep}: must be in [0, {n}] for {n} tokens")
    if start < 0 or steps < 1 or start + steps > layers:
        raise ConfigError(
            f"start={start}, steps={steps}: pruning layers must lie within {layers} layers"
        )
    cut = n - keep
    counts = [n] * start
    counts += [n - round(cut * j / steps) for j in range(1, steps + 1)]
    return counts + [keep] * (layers - start - steps)
