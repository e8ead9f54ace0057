"""Hard-cut detection from downscaled frames: a content-change score and an adaptive peak picker.

A hard cut changes most pixels at once, so the mean absolute difference (in HSV) between
consecutive small frames jumps well above the scores around it — by a ratio, not by a fixed
amount, so a cut between two dim, low-contrast shots (a score of 8 among 2s) counts as much
as one between bright ones. Fast motion and fades raise the score for many frames in a row
and are rejected by that local comparison; a low absolute floor keeps noise in static shots
from counting. The rule is PySceneDetect's ``AdaptiveDetector`` (ratio to the mean of the
``window`` frames on each side, a floor, a minimum shot length) over this module's score,
and the tests check that both find the same cuts. Pure functions over ``(h, w, 3)`` uint8
thumbnails; decoding them is ``mmtok.video.frames.iter_thumbnails``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def change_scores(thumbnails: Iterable[np.ndarray]) -> np.ndarray:
    """``(F,)`` float64: mean absolute difference (0..255) of frame ``k`` from frame ``k-1``
    in HSV (hue, saturation and value weighted equally, PySceneDetect's content score).

    HSV makes a change of hue count even when brightness barely moves (two dim shots of
    different colour), and a change of brightness alone count once, not three times.
    ``scores[0]`` is 0 (nothing precedes the first frame). Streams the ``(h, w, 3)`` uint8
    RGB thumbnails, keeping one previous frame.
    """
    import cv2  # the decode path only; counting never reaches here

    scores: list[float] = []
    previous: np.ndarray | None = None
    for thumb in thumbnails:
        current = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV).astype(np.int16)
        scores.append(0.0 if previous is None else float(np.abs(current - previous).mean()))
        previous = current
    return np.asarray(scores, dtype=np.float64)


# Mean absolute HSV change (0..255) below which no frame is a cut (PySceneDetect's
# ``min_content_val``): far above the compression noise of a static shot (~1), below a change
# of hue between two dim, low-contrast shots.
CUT_FLOOR = 15.0
# How many times the mean score of its neighbours a cut must reach (PySceneDetect's default).
CUT_RATIO = 3.0
# Shortest shot, frames (PySceneDetect's default, half a second at 30 fps): a flash or a
# strobe cuts once, not on every frame.
MIN_SHOT = 15
_RATIO_CAP = 255.0


def detect_cuts(
    scores: np.ndarray,
    *,
    floor: float = CUT_FLOOR,
    ratio: float = CUT_RATIO,
    window: int = 2,
    min_shot: int = MIN_SHOT,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames that start a new shot, and how strong each cut is.

    Frame ``k`` is a cut when ``scores[k] ≥ floor`` and ``scores[k]`` is at least ``ratio``
    times the mean score of the ``window`` frames on each side (so only frames with a full
    window on both sides qualify), and at least ``min_shot`` frames follow the previous cut
    (or the first scored frame). ``scores`` ``(F,)`` as from :func:`change_scores`.
    Returns ``(cuts, strengths)``: ``(K,)`` int64 frame indices ascending and ``(K,)``
    float64 scores.
    """
    n = len(scores)
    cuts: list[int] = []
    last = 1  # scores[0] is not a score: nothing precedes the first frame
    for k in range(1 + window, n - window):
        score = float(scores[k])
        if score < floor or k - last < min_shot:
            continue
        around = (scores[k - window : k].sum() + scores[k + 1 : k + 1 + window].sum()) / (
            2 * window
        )
        adaptive = min(score / around, _RATIO_CAP) if around > 1e-5 else _RATIO_CAP
        if adaptive >= ratio:
            cuts.append(k)
            last = k
    picked = np.asarray(cuts, dtype=np.int64)
    return picked, scores[picked].astype(np.float64)
