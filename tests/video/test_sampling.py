"""Frame-sampling rules: hand-derived cases and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmtok.errors import ConfigError
from mmtok.profiles import get_profile
from mmtok.video.sampling import (
    Sampling,
    fps_frame_count,
    fps_indices,
    frame_max_pixels,
    keyframe_indices,
    sampling_for,
    scene_indices,
    uniform_frame_count,
    uniform_indices,
)


def qwen_count(total: int, video_fps: float, fps: float = 2.0, lo: int = 4, hi: int = 768) -> int:
    return fps_frame_count(
        total, video_fps, fps=fps, min_frames=lo, max_frames=hi, temporal_patch_size=2
    )


@pytest.mark.parametrize(
    ("total", "video_fps", "expected"),
    [
        (1800, 30.0, 120),  # 60 s at 30 fps, 2 fps: 120 frames
        (300, 30.0, 20),  # 10 s
        (30, 30.0, 4),  # 1 s → 2 frames, raised to min_frames 4
        (3, 30.0, 2),  # clamped to ⌊3/2⌋·2 frames
        (1, 30.0, 1),  # shorter than a temporal patch: the one frame
        (108_000, 30.0, 768),  # an hour: max_frames
        (45, 30.0, 4),  # 1.5 s → 3 frames → min 4
        (151, 25.0, 12),  # 6.04 s → 12.08 → 12
        (2997, 29.97, 200),  # NTSC 100 s
    ],
)
def test_fps_frame_count_hand_cases(total: int, video_fps: float, expected: int) -> None:
    assert qwen_count(total, video_fps) == expected


def test_fps_count_odd_max_frames_floors_to_patch() -> None:
    assert qwen_count(1800, 30.0, hi=7) == 6


def test_fps_indices_60s_at_30fps_every_15th_frame() -> None:
    idx = fps_indices(1800, 30.0, Sampling())
    assert idx.tolist() == list(range(0, 1800, 15))


def test_uniform_indices_hand_cases() -> None:
    assert uniform_indices(30, 4).tolist() == [0, 7, 15, 22]
    assert uniform_indices(10, 3).tolist() == [0, 3, 6]
    assert uniform_indices(5, 5).tolist() == [0, 1, 2, 3, 4]


def test_uniform_frame_count_rounds_half_to_even_and_caps() -> None:
    assert uniform_frame_count(5, 100, temporal_patch_size=2) == 4  # round(2.5) = 2
    assert uniform_frame_count(7, 100, temporal_patch_size=2) == 8  # round(3.5) = 4
    assert uniform_frame_count(64, 9, temporal_patch_size=2) == 8
    assert uniform_frame_count(1, 100, temporal_patch_size=2) == 2
    assert uniform_frame_count(5, 100, temporal_patch_size=1) == 5


@given(
    total=st.integers(1, 200_000),
    video_fps=st.floats(1.0, 240.0),
    fps=st.floats(0.1, 8.0),
    lo=st.integers(1, 16),
    hi=st.integers(2, 1024),
)
def test_fps_rule_properties(total: int, video_fps: float, fps: float, lo: int, hi: int) -> None:
    n = qwen_count(total, video_fps, fps, lo, hi)
    assert 1 <= n <= total
    if total >= 2:
        asked = max(total / video_fps * fps, lo)
        assert n % 2 == 0
        assert n <= max(hi // 2 * 2, 2)  # the cap, or one temporal patch
        assert n <= max(int(asked) // 2 * 2, 2)  # never more than asked (floored)
        # Monotone: a higher sampling rate never keeps fewer frames.
        assert qwen_count(total, video_fps, fps * 1.5, lo, hi) >= n


@given(total=st.integers(1, 100_000), data=st.data())
def test_uniform_indices_properties(total: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, min(total, 2000)))
    idx = uniform_indices(total, n)
    assert len(idx) == n
    assert idx[0] == 0 and idx[-1] < total
    gaps = idx[1:] - idx[:-1]
    assert (gaps >= 1).all()
    # Evenly spaced: gaps differ by at most one frame, around total / n.
    if len(gaps):
        assert gaps.max() - gaps.min() <= 1
        assert total // n <= gaps.min() and gaps.max() <= -(-total // n)


def test_keyframe_indices_thins_uniformly() -> None:
    assert keyframe_indices([0, 30, 60, 90], 10).tolist() == [0, 30, 60, 90]
    assert keyframe_indices([90, 0, 60, 30], 2).tolist() == [0, 60]


def test_scene_indices_move_nearest_uniform_frame_onto_cuts() -> None:
    # uniform over 120 frames, 8 picks: 0 15 30 45 60 75 90 105
    picks = scene_indices(120, 8, [37, 80], [50.0, 60.0])
    assert picks.tolist() == [0, 15, 37, 45, 60, 80, 90, 105]


def test_scene_indices_keep_strongest_cuts_when_frames_are_few() -> None:
    # uniform [0, 60]; 50 (strongest) takes 60, then 90 takes the remaining 0; 10 is dropped
    picks = scene_indices(120, 2, [10, 50, 90], [1.0, 3.0, 2.0])
    assert picks.tolist() == [50, 90]


def test_scene_indices_no_cuts_is_uniform() -> None:
    assert scene_indices(120, 4, [], []).tolist() == uniform_indices(120, 4).tolist()


def test_frame_max_pixels_transformers_example() -> None:
    total = int(128000 * 28 * 28 * 0.9)  # transformers' default budget: 90,316,800
    lo, hi = 128 * 28 * 28, 768 * 28 * 28
    kw = {"min_pixels": lo, "max_pixels": hi, "total_pixels": total, "temporal_patch_size": 2}
    assert frame_max_pixels(768, **kw) == 235_200  # 90,316,800 · 2 // 768
    assert frame_max_pixels(4, **kw) == hi  # plenty of budget: the per-frame cap
    assert frame_max_pixels(100_000, **kw) == 105_369  # floor: int(100,352 · 1.05)


@given(frames=st.integers(1, 5000))
def test_frame_max_pixels_shrinks_as_frames_grow(frames: int) -> None:
    kw = {"min_pixels": 3136, "max_pixels": 10**6, "total_pixels": 10**7, "temporal_patch_size": 2}
    assert frame_max_pixels(frames + 1, **kw) <= frame_max_pixels(frames, **kw)


def test_sampling_for_uses_profile_defaults_and_validates() -> None:
    qwen = get_profile("qwen2-vl")
    s = sampling_for(qwen, "fps", max_frames=32)
    assert (s.fps, s.min_frames, s.max_frames, s.temporal_patch_size) == (2.0, 4, 32, 2)
    assert sampling_for(qwen, "uniform", num_frames=8).num_frames == 8
    with pytest.raises(ConfigError, match="--sampling"):
        sampling_for(qwen, "every")
    with pytest.raises(ConfigError, match="--fps"):
        sampling_for(qwen, "fps", fps=0.0)
    with pytest.raises(ConfigError, match="--max-frames"):
        sampling_for(qwen, "fps", max_frames=0)


def test_a_profile_with_video_num_frames_samples_uniformly_by_default():
    """LLaVA-OneVision's default is 8 uniform frames (its ``video_num_frames``), capped by the
    profile's ``video_max_frames``; an ``fps`` asked for picks the fps rule; others keep fps."""
    from mmtok.video.sampling import header_indices

    ov = get_profile("llava-onevision")
    default = sampling_for(ov)
    assert (default.method, default.num_frames) == ("uniform", 8)
    assert header_indices(80, 30.0, default).tolist() == list(range(0, 80, 10))
    assert header_indices(5, 30.0, default).tolist() == [0, 1, 2, 3, 4]
    assert sampling_for(ov.with_options(video_max_frames=3)).num_frames == 3
    assert sampling_for(ov, fps=1.0).method == "fps"
    assert sampling_for(get_profile("qwen2-vl")).method == "fps"
