"""Video token plans and the pixel layout, derived by hand from the Qwen2-VL rules."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmtok.errors import UnsupportedMediaError
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from mmtok.video.pixels import (
    frame_resizer,
    pad_temporal,
    preprocess_video,
    resize_frames,
    video_normalize_table,
)
from mmtok.video.plan import SEPARATED, plan_video, seconds_per_temporal_patch
from mmtok.video.sampling import frame_timestamps, uniform_indices

QWEN = get_profile("qwen2-vl")
QWEN25 = get_profile("qwen2.5-vl")
GENERIC = get_profile("generic")
# Small frames for layout tests: Qwen's video floor (128·28² pixels) would upscale them.
SMALL = QWEN.with_options(video_min_pixels=56 * 56)


def test_qwen_720p_two_minutes_plan() -> None:
    # 60 s at 30 fps, 2 fps → 120 frames. smart_resize(720, 1280, 28, 128·28², 768·28²):
    # rounded 728×1288 exceeds 602,112 → β = √(921,600 / 602,112) = 1.2372,
    # h = ⌊720/β/28⌋·28 = 20·28 = 560, w = ⌊1280/β/28⌋·28 = 36·28 = 1008.
    plan = plan_video(QWEN, 720, 1280, uniform_indices(1800, 120), 1800, 30.0)
    assert plan.resized == (560, 1008)
    assert plan.grid == (60, 40, 72)
    assert plan.frame_tokens == 40 * 72 // 4 == 720
    assert plan.tokens == 60 * 720 == 43_200
    assert plan.fence_tokens == 2  # <|vision_start|> … <|vision_end|>, written by the template
    assert plan.seconds_per_grid == 1.0  # 2 frames per patch at 2 sampled fps
    assert plan.timestamps[:3] == (0.0, 0.5, 1.0)


def test_odd_frame_count_rounds_temporal_patches_up() -> None:
    plan = plan_video(QWEN, 720, 1280, [0, 10, 20, 30, 40], 50, 10.0)
    assert plan.grid[0] == 3


def test_total_pixel_budget_shrinks_frames() -> None:
    # 8 frames, budget 400,000 px: share 400,000·2//8 = 100,000 < floor int(100,352·1.05) =
    # 105,369 → max 105,369; β = √(921,600/105,369) = 2.9574 → 8·28 × 15·28 = 224 × 420.
    plan = plan_video(QWEN, 720, 1280, range(8), 8, 30.0, total_pixels=400_000)
    assert plan.resized == (224, 420)
    unbounded = plan_video(QWEN, 720, 1280, range(8), 8, 30.0)
    assert unbounded.resized == (560, 1008)


def test_generic_layout_separators_fences_and_timestamps() -> None:
    # 64×48 frames, patch 16, no merge: 48×64 is within [32², 256²] → 3×4 = 12 tokens a frame.
    plan = plan_video(GENERIC, 48, 64, [0, 15, 30], 31, 30.0)
    assert plan.grid == (3, 3, 4)
    assert plan.tokens == 3 * 12 + 2 + 2  # frames + [FRAME] separators + [VID_START]/[VID_END]
    assert plan.fence_tokens == 0
    stamped = plan_video(GENERIC, 48, 64, [0, 15, 30], 31, 30.0, timestamp_tokens=len)
    assert stamped.timestamp_texts == ("<t=0.0s>", "<t=0.5s>", "<t=1.0s>")
    assert stamped.tokens == plan.tokens + 3 * 8


def test_timestamps_and_seconds_per_patch() -> None:
    assert frame_timestamps([0, 15, 45], 30.0) == (0.0, 0.5, 1.5)
    # 8 of 240 frames at 24 fps → 0.8 sampled fps → a patch of 2 frames spans 2.5 s.
    assert seconds_per_temporal_patch(8, 240, 24.0, 2) == pytest.approx(2.5)
    assert SEPARATED.template.format(1.5) == "<t=1.5s>"
    assert QWEN25.tokens_per_second == 2


def test_extreme_aspect_ratio_is_refused() -> None:
    with pytest.raises(UnsupportedMediaError, match="aspect ratio"):
        plan_video(QWEN, 10, 2500, [0, 1], 2, 30.0)


def test_pad_temporal_repeats_last_frame() -> None:
    frames = np.arange(3)[:, None]
    assert pad_temporal(frames, 2)[:, 0].tolist() == [0, 1, 2, 2]
    assert pad_temporal(frames, 1) is frames


def test_video_normalize_table_first_level() -> None:
    # (0 - 0.48145466·255) / (0.26862954·255) in float32
    table = video_normalize_table(QWEN.image_mean, QWEN.image_std, QWEN.rescale_factor)
    assert table.dtype == np.float32
    assert table[0, 0] == pytest.approx(-1.7922626, abs=1e-6)
    assert table[0, 255] == pytest.approx((1 - 0.48145466) / 0.26862954, abs=1e-6)


def _frames(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def test_two_identical_frames_equal_the_image_layout() -> None:
    # Frames already at the resized size: no resize on either path. A video of two identical
    # frames is the image's patches with the temporal axis holding the same pixels twice.
    frame = _frames(1, 336, 364)
    plan = plan_video(QWEN, 336, 364, [0, 1], 2, 30.0)
    assert plan.resized == (336, 364)
    video = preprocess_video(np.repeat(frame, 2, axis=0), QWEN, plan).pixel_values
    image = preprocess_image(Image.fromarray(frame[0]), QWEN).pixel_values
    assert video.shape == image.shape == (24 * 26, 3 * 2 * 14 * 14)
    np.testing.assert_allclose(video, image, atol=1e-6)


def test_odd_frame_count_repeats_last_frame_in_patches() -> None:
    frames = _frames(3, 56, 56, seed=1)
    plan = plan_video(SMALL, 56, 56, [0, 1, 2], 3, 30.0)
    out = preprocess_video(frames, SMALL, plan)
    assert out.video_grid_thw.tolist() == [[2, 4, 4]]
    per_patch = out.pixel_values.reshape(2, 16, 3, 2, 14 * 14)  # (t, hw, C, T, p²)
    np.testing.assert_array_equal(per_patch[1, :, :, 0], per_patch[1, :, :, 1])
    assert not np.array_equal(per_patch[0, :, :, 0], per_patch[0, :, :, 1])


def test_patch_order_by_hand() -> None:
    frames = _frames(2, 56, 56, seed=2)
    plan = plan_video(SMALL, 56, 56, [0, 1], 2, 30.0)
    pv = preprocess_video(frames, SMALL, plan).pixel_values.reshape(-1, 3, 2, 14, 14)
    table = video_normalize_table(QWEN.image_mean, QWEN.image_std, QWEN.rescale_factor)
    norm = np.stack([table[c][frames[..., c]] for c in range(3)], axis=1)  # (T, C, H, W)
    # patch 0: rows 0:14, cols 0:14; patch 1: same merge window, cols 14:28;
    # patch 2: rows 14:28, cols 0:14; patch 4: next merge window, cols 28:42.
    for k, (y, x) in {0: (0, 0), 1: (0, 14), 2: (14, 0), 4: (0, 28)}.items():
        expected = norm[:, :, y : y + 14, x : x + 14].transpose(1, 0, 2, 3)
        np.testing.assert_array_equal(pv[k], expected)


def test_resize_same_size_is_identity_and_constant_stays_constant() -> None:
    frames = _frames(2, 30, 40).transpose(0, 3, 1, 2)
    assert resize_frames(frames, (30, 40)) is frames
    flat = np.full((1, 3, 97, 131), 77, dtype=np.uint8)
    out = resize_frames(flat, (56, 84))
    assert out.shape == (1, 3, 56, 84) and out.dtype == np.uint8 and (out == 77).all()


def test_per_frame_resize_equals_stack_resize() -> None:
    frames = _frames(3, 97, 131, seed=3)
    stacked = resize_frames(frames.transpose(0, 3, 1, 2), (56, 84)).transpose(0, 2, 3, 1)
    one = frame_resizer((56, 84))
    np.testing.assert_array_equal(np.stack([one(f) for f in frames]), stacked)
