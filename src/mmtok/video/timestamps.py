"""The timestamp text a video layout writes for each temporal patch: a family's style as data.

Styles in use (each checked against its reference processor in ``tests/parity``):

- ``generic``: ``<t=1.5s>`` before each patch, the time of its first frame;
- Qwen3-VL: ``<1.5 seconds>`` before each patch, the mean of its first and last frame (the
  last sampled frame repeated to fill the final patch), one decimal;
- GLM-4.1V / GLM-4.5V: ``1`` after each patch, the whole seconds (truncated) of its first
  frame.

Families that lay a video out as one image view per frame write text around the frames
instead (:class:`FrameText`): InternVL3 ``Frame1: `` … joined by newlines; SmolVLM2 an intro
line (the frame count in English words, the duration as ``H:MM:SS``), ``\nFrame from MM:SS:``
before each frame and ``\n\n`` after the last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
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


@dataclass(frozen=True)
class FrameText:
    """Text around the frames of a video laid out as one image view per frame: ``intro``
    before the first frame (``str.format`` fields ``count_words``: the frame count in English
    words, ``duration``: whole seconds as ``H:MM:SS``), ``label`` before each frame (fields
    ``number``: 1-based, ``minutes``/``seconds``: the frame's whole time), ``sep`` between
    frames (before the next label) and ``outro`` after the last frame."""

    label: str
    intro: str = ""
    sep: str = ""
    outro: str = ""


def frame_texts(style: FrameText, timestamps: Sequence[float], duration: float) -> tuple[str, ...]:
    """``n + 1`` texts for ``n`` frames at ``timestamps`` (seconds) of a ``duration``-second
    video: before the first frame (intro and first label), between each pair, after the
    last (empty for no frames)."""
    if not timestamps:
        return ()
    labels = [
        style.label.format(number=i + 1, minutes=int(t // 60), seconds=int(t % 60))
        for i, t in enumerate(timestamps)
    ]
    words = number_words(len(timestamps))
    intro = style.intro.format(count_words=words, duration=timedelta(seconds=int(duration)))
    return (intro + labels[0], *(style.sep + label for label in labels[1:]), style.outro)


_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", " thousand", " million", " billion", " trillion")


def _hundreds(n: int) -> str:
    """``0 < n < 1000`` in words: ``one hundred and twenty-one``."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    low = _ONES[rest] if rest < 20 else _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if not hundreds:
        return low
    return f"{_ONES[hundreds]} hundred" + (f" and {low}" if rest else "")


def number_words(n: int) -> str:
    """A non-negative integer below 10¹⁵ in British English words, as ``num2words(n)``
    writes it (SmolVLM's frame count): groups of thousands joined by ``, ``, a last group
    below 100 by `` and `` (``one thousand and one``, ``one thousand, one hundred``)."""
    if n == 0:
        return "zero"
    groups = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            groups.append((_hundreds(group) + _SCALES[scale], scale == 0 and group < 100))
        scale += 1
    groups.reverse()
    out = groups[0][0]
    for text, small in groups[1:]:
        out += (" and " if small else ", ") + text
    return out
