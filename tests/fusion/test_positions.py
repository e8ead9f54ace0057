"""Position ids on sequences worked out by hand (the reference comparisons live in
``tests/parity/test_rope_parity.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from mmtok.fusion.positions import frame_grids, mrope, rope_1d, video_time_steps

T, I, V, S = 0, 1, 2, 4  # noqa: E741  (token modality ids, as in the sequences below)


def test_rope_1d():
    assert rope_1d(4).tolist() == [[0, 1, 2, 3]]


def test_image_then_video_then_text():
    # text text fence | image 2×2 merged | fence text text fence | video t=2, 2×2 | fence text
    mod = np.array([T, T, S, I, I, I, I, S, T, T, S, *[V] * 8, S, T])
    pos, delta = mrope(mod, np.array([[1, 4, 4]]), np.array([[2, 4, 4]]), merge_size=2)
    assert pos.tolist() == [
        [0, 1, 2, 3, 3, 3, 3, 5, 6, 7, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 12],
        [0, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 10, 9, 9, 10, 10, 11, 12],
        [0, 1, 2, 3, 4, 3, 4, 5, 6, 7, 8, 9, 10, 9, 10, 9, 10, 9, 10, 11, 12],
    ]
    assert delta == 12 + 1 - 21


def test_wide_image_advances_by_its_longer_side():
    # One row of three merged tokens: h 0, w 0..2 → text resumes at start + 3.
    mod = np.array([T, I, I, I, T])
    pos, delta = mrope(mod, np.array([[1, 2, 6]]), None, merge_size=2)
    assert pos.tolist() == [[0, 1, 1, 1, 4], [0, 1, 1, 1, 4], [0, 1, 2, 3, 4]]
    assert delta == 0


def test_video_time_steps_scale_the_temporal_axis():
    # Qwen2.5-VL: 2 tokens/s × 0.5 s per temporal patch → step 1; × 1.5 s → step 3.
    steps = video_time_steps([0.5, 1.5], 2, 2)
    assert steps.tolist() == [1.0, 3.0]
    assert video_time_steps([0.5], None, 1).tolist() == [1.0]  # Qwen2-VL: no scaling
    mod = np.array([T, *[V] * 3, T])  # t=3, one 1×1 merged token per temporal patch
    grid, steps3 = np.array([[3, 2, 2]]), np.array([3.0], np.float32)
    pos, delta = mrope(mod, None, grid, merge_size=2, video_steps=steps3, advance="max")
    assert pos[0].tolist() == [0, 1, 4, 7, 8]
    assert pos[1].tolist() == [0, 1, 1, 1, 8]
    assert delta == 8 + 1 - 5
    # transformers 5 (the default): text continues at start 1 + max(H, W) = 2, under the
    # video's last time position 7; the delta still comes from the largest position.
    pos, delta = mrope(mod, None, grid, merge_size=2, video_steps=steps3)
    assert pos[0].tolist() == [0, 1, 4, 7, 2]
    assert delta == 7 + 1 - 5


def test_fractional_steps_truncate_after_the_multiply():
    # step 2 × (1/3 s) = 0.6667 in float32: patches at 0, 0.667, 1.333, 2.0 → 0, 0, 1, 2
    steps = video_time_steps([1 / 3], 2, 1)
    mod = np.array([*[V] * 4])
    pos, _ = mrope(mod, None, np.array([[4, 2, 2]]), merge_size=2, video_steps=steps)
    assert pos[0].tolist() == [0, 0, 1, 2]


def test_advance_rules_differ_only_for_long_videos():
    mod = np.array([T, *[V] * 4, T])  # t=4 patches of one 1×1 token each
    grid = np.array([[4, 2, 2]])
    longest, _ = mrope(mod, None, grid, merge_size=2, advance="max")
    spatial, _ = mrope(mod, None, grid, merge_size=2, advance="spatial")
    assert longest[:, -1].tolist() == [5, 5, 5]  # after t positions 1..4
    assert spatial[:, -1].tolist() == [2, 2, 2]  # start 1 + max(h, w) = 1 + 1
    image = np.array([T, I, I, I, I, T])
    a, _ = mrope(image, np.array([[1, 4, 4]]), None, merge_size=2, advance="max")
    b, _ = mrope(image, np.array([[1, 4, 4]]), None, merge_size=2, advance="spatial")
    assert a.tolist() == b.tolist()


def test_text_only_and_empty():
    pos, delta = mrope(np.array([T, T, S]), None, None, merge_size=2)
    assert pos.tolist() == [[0, 1, 2]] * 3 and delta == 0
    pos, delta = mrope(np.zeros(0, np.int8), None, None, merge_size=2)
    assert pos.shape == (3, 0) and delta == 0


def test_runs_and_grids_must_agree():
    with pytest.raises(ValueError, match="1 image runs but 2 grids"):
        mrope(np.array([I, I, I, I]), np.array([[1, 4, 4], [1, 4, 4]]), None, merge_size=2)
    with pytest.raises(ValueError, match=r"do not match grids \[4\]"):
        mrope(np.array([I, I, I]), np.array([[1, 4, 4]]), None, merge_size=2)


def test_frame_grids_split_every_temporal_patch():
    grids = frame_grids(np.array([[3, 4, 6], [1, 2, 2]]))
    assert grids.tolist() == [[1, 4, 6], [1, 4, 6], [1, 4, 6], [1, 2, 2]]


def test_timestamped_video_patches_are_placed_like_images():
    # text | patch 1×(2×2 merged → 1×1)… : two patches of 2×2 tokens, a stamp token between
    mod = np.array([T, S, V, V, V, V, S, T, S, V, V, V, V, S])
    pos, delta = mrope(mod, None, frame_grids(np.array([[2, 4, 4]])), merge_size=2)
    # Patch 1 starts at 2: rows/cols 2..3; the text after it continues at 2 + max(2, 2) = 4.
    assert pos[:, 2:6].tolist() == [[2, 2, 2, 2], [2, 2, 3, 3], [2, 3, 2, 3]]
    assert pos[0, 6:9].tolist() == [4, 5, 6]
    assert pos[:, 9:13].tolist() == [[7, 7, 7, 7], [7, 7, 8, 8], [7, 8, 7, 8]]
    assert pos[0, 13] == 9 and delta == 10 - 14
