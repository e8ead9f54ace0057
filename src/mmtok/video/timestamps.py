"""The timestamp text a video layout writes for each temporal patch: a family's style as data.

Styles in use (each checked against its reference processor in ``tests/parity``):

- ``generic``: ``<t=1.5s>`` before each patch, the time of its first frame;
- Qwen3-VL: ``<1.5 seconds>`` before each patch, the mean of its first and last frame (the
  last sampled frame repeated to fill the final patch), one decimal;
- GLM-4.1V / GLM-4.5V: ``1`` after each patch, the whole seconds (truncated) of its first
  frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

TimeOf = Literal["first", "mean", "whole"]


@dataclass(frozen=True)
class TimestampStyle:
    """``template`` is ``str.format``-ed with the patch's time (seconds, or whole seconds for
    ``time="whole"``); ``time`` picks it from the patch's frames; ``after`` puts the text after
    the patch's tokens instead of before them."""

    template: str = "<t={:.1f}s>"
    time: TimeOf = "first"
    after: bool = False


def patch_times(
    timestamps: Sequence[float], temporal_patch_size: int, time: TimeOf
) -> list[float] | list[int]:
    """One time per temporal patch from the sampled frames' ``timestamps`` (seconds):
    ``⌈n / T⌉`` values, the last frame repeated to fill the final patch."""
    t = temporal_patch_size
    groups = math.ceil(len(timestamps) / t)
    padded = list(timestamps) + [timestamps[-1]] * (groups * t - len(timestamps))
    if time == "mean":
        return [(padded[g * t] + padded[g * t + t - 1]) / 2 for g in range(groups)]
    if time == "whole":
        return [int(padded[g * t]) for g in range(groups)]
    return [padded[g * t] for g in range(groups)]


def timestamp_texts(
    style: TimestampStyle, timestamps: Sequence[float], temporal_patch_size: int
) -> tuple[str, ...]:
    """The text of every temporal patch, in order (empty for no frames)."""
    if not timestamps:
        return ()
    times = patch_times(timestamps, temporal_patch_size, style.time)
    return tuple(style.template.format(v) for v in times)
