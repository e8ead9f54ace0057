"""Cut detection: scores by hand, and the scene-aware sampler on videos with known cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmtok.profiles import get_profile
from mmtok.video.frames import iter_thumbnails, select_frames
from mmtok.video.probe import probe_video
from mmtok.video.sampling import sampling_for
from mmtok.video.scenes import change_scores, detect_cuts
from tests.media_factory import scene_frame, write_video

QWEN = get_profile("qwen2-vl")


def test_change_scores_by_hand() -> None:
    frames = [np.full((2, 2, 3), v, dtype=np.uint8) for v in (10, 10, 50, 40)]
    assert change_scores(frames).tolist() == [0.0, 0.0, 40.0, 10.0]


def test_detect_cuts_peaks_not_motion() -> None:
    scores = np.array([0, 1, 2, 1, 90, 1, 2, 1, 1, 2, 40, 45, 42, 44, 41, 43, 1, 1], float)
    cuts, strengths = detect_cuts(scores, threshold=30.0)
    # 90 stands out; the run of ~40s (fast motion) never exceeds 3× its neighbours' median.
    assert cuts.tolist() == [4]
    assert strengths.tolist() == [90.0]


def test_detect_cuts_threshold_and_min_gap() -> None:
    scores = np.zeros(40)
    scores[[10, 11, 30]] = [50.0, 60.0, 20.0]
    cuts, _ = detect_cuts(scores, threshold=30.0, contrast=1.0, min_gap=2)
    assert cuts.tolist() == [11]  # 10 and 11 merge into the stronger; 30 is under threshold


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


def test_scene_sampler_puts_a_frame_on_every_cut(cut_video: Path) -> None:
    info = probe_video(cut_video)
    plain = select_frames(cut_video, info, sampling_for(QWEN, "fps"))
    scenes = select_frames(cut_video, info, sampling_for(QWEN, "scenes"))
    assert len(scenes.indices) == len(plain.indices) == 8
    assert scenes.decoded == "low-res pass"
    for cut in CUTS:
        assert min(abs(i - cut) for i in scenes.indices) <= 1
        assert min(abs(i - cut) for i in plain.indices) > 1  # the test can fail
