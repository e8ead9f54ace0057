"""Hard-cut detection from downscaled frames: a content-change score and a peak picker.

A hard cut changes most pixels at once, so the mean absolute difference between
consecutive small frames jumps far above both an absolute floor and the motion around it.
Fast motion and fades raise the score for many frames in a row and are rejected by the
local comparison. Pure functions over ``(h, w, 3)`` uint8 thumbnails; decoding them is
``mmtok.video.frames.iter_thumbnails``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def change_scores(thumbnails: Iterable[np.ndarray]) -> np.ndarray:
    """``(F,)`` float64: mean absolute difference (0..255) of frame ``k`` from frame ``k-1``.

    ``scores[0]`` is 0 (nothing precedes the first frame). Streams the thumbnails, keeping
    one previous frame.
    """
    scores: list[float] = []
    previous: np.ndarray | None = None
    for thumb in thumbnails:
        current = thumb.astype(np.int16)
        scores.append(0.0 if previous is None else float(np.abs(current - previous).mean()))
        previous = current
    return np.asarray(scores, dtype=np.float64)


def detect_cuts(
    scores: np.ndarray,
    *,
    threshold: float = 30.0,
    contrast: float = 3.0,
    window: int = 4,
    min_gap: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames that start a new shot, and how strong each cut is.

    Frame ``k`` is a cut when ``scores[k] ≥ threshold`` and ``scores[k]`` is at least
    ``contrast`` times the median score of the ``window`` frames on each side (excluding
    ``k``); of cuts closer than ``min_gap`` frames only the strongest is kept. Returns
    ``(cuts, strengths)``: ``(K,)`` int64 frame indices ascending and ``(K,)`` float64
    scores.
    """
    n = len(scores)
    candidates: list[int] = []
    for k in range(1, n):
        if scores[k] < threshold:
            continue
        around = np.concatenate([scores[max(1, k - window) : k], scores[k + 1 : k + 1 + window]])
        if len(around) and scores[k] < contrast * float(np.median(around)):
            continue
        if candidates and k - candidates[-1] < min_gap:
            if scores[k] > scores[candidates[-1]]:
                candidates[-1] = k
            continue
        candidates.append(k)
    cuts = np.asarray(candidates, dtype=np.int64)
    return cuts, scores[cuts].astype(np.float64)
