"""Cut detection: scores by hand, and the scene-aware sampler on videos with known cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmtok.errors import CorruptMediaError
from mmtok.profiles import get_profile
from mmtok.video.frames import iter_thumbnails, select_frames
from mmtok.video.probe import probe_video
from mmtok.video.sampling import sampling_for
from mmtok.video.scenes import change_scores, detect_cuts
from tests.media_factory import scene_frame, write_video

QWEN = get_profile("qwen2-vl")


def test_change_scores_by_hand() -> None:
    # Greys have hue 0 and saturation 0: only the value channel (1 of 3) changes.
    frames = [np.full((2, 2, 3), v, dtype=np.uint8) for v in (10, 10, 55, 40)]
    assert change_scores(frames).tolist() == [0.0, 0.0, 15.0, 5.0]


def test_change_scores_see_hue_at_equal_brightness() -> None:
    # Pure red to pure green: hue 0 → 60 (OpenCV's 0..180 scale), S and V stay 255.
    red, green = (np.zeros((2, 2, 3), np.uint8) for _ in range(2))
    red[..., 0], green[..., 1] = 255, 255
    assert change_scores([red, green]).tolist() == [0.0, 20.0]


def test_detect_cuts_peaks_not_motion() -> None:
    scores = np.array([0, 1, 2, 1, 90, 1, 2, 1, 1, 2, 40, 45, 42, 44, 41, 43, 1, 1], float)
    cuts, strengths = detect_cuts(scores, floor=30.0, min_shot=1)
    # 90 is 3× the mean of its two neighbours on each side; the run of ~40s (fast motion)
    # never is: at frame 10, 40 / mean(1, 2, 45, 42) = 1.8.
    assert cuts.tolist() == [4]
    assert strengths.tolist() == [90.0]


def test_detect_cuts_low_contrast_shots() -> None:
    # A cut of 18 between dim shots whose frames differ by 2: a fixed floor of 30 misses it.
    scores = np.full(60, 2.0)
    scores[[20, 40]] = 18.0
    assert detect_cuts(scores)[0].tolist() == [20, 40]


def test_detect_cuts_floor_and_min_shot() -> None:
    scores = np.zeros(60)
    scores[[20, 24, 50]] = [50.0, 60.0, 14.0]
    # 24 follows the cut at 20 by fewer than 15 frames; 50 is under the floor of 15.
    assert detect_cuts(scores)[0].tolist() == [20]
    assert detect_cuts(scores, min_shot=2)[0].tolist() == [20, 24]
    scores[5] = 80.0  # within the first shot's 15 frames of the start
    assert detect_cuts(scores)[0].tolist() == [20]


CUTS = [23, 57, 90]  # none within a frame of the plain 2 fps picks 0 16 32 48 65 81 97 113


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenes") / "cuts.mp4"
    return write_video(path, scene_frame(96, 64, CUTS), 130, width=96, height=64, gop=30)


def test_thumbnail_scores_jump_at_the_cuts(cut_video: Path) -> None:
    scores = change_scores(iter_thumbnails(cut_video))
    assert len(scores) == 130
    cuts, _ = detect_cuts(scores)
    assert cuts.tolist() == CUTS


def test_scene_pass_bounded_by_the_header(cut_video: Path) -> None:
    with pytest.raises(CorruptMediaError, match=r"cuts\.mp4: more than 100 frames decode"):
        change_scores(iter_thumbnails(cut_video, max_frames=100))


def test_scene_sampler_puts_a_frame_on_every_cut(cut_video: Path) -> None:
    info = probe_video(cut_video)
    plain = select_frames(cut_video, info, sampling_for(QWEN, "fps"))
    scenes = select_frames(cut_video, info, sampling_for(QWEN, "scenes"))
    assert len(scenes.indices) == len(plain.indices) == 8
    assert scenes.decoded == "low-res pass"
    for cut in CUTS:
        assert min(abs(i - cut) for i in scenes.indices) <= 1
        assert min(abs(i - cut) for i in plain.indices) > 1  # the test can fail
