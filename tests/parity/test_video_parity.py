"""Video processing against transformers' ``Qwen2VLVideoProcessor``.

The processor module imports torchvision at its top, and its pixel path resizes with
torchvision, which cannot be installed here: the full pixel comparison is skipped without
it. The pieces that do not touch torchvision are compared always: ``sample_frames``,
``patchify`` and ``get_num_of_video_patches`` are plain torch/Python methods, called
unbound on a namespace holding the processor's defaults. To import the module, empty
stand-in ``torchvision`` modules are placed in ``sys.modules`` for the duration of that one
import only (its ``tvF`` name is used by ``resize``/``normalize``, which are not called);
every transformers module that checks for torchvision is imported before, so none caches a
wrong answer.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest
import torch

# Imported before the stand-in torchvision exists, so they cache "no torchvision".
import transformers.image_processing_utils
import transformers.processing_utils
import transformers.video_processing_utils  # noqa: F401
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from transformers.video_utils import VideoMetadata

from mmtok.profiles import get_profile
from mmtok.video.pixels import preprocess_video, video_normalize_table
from mmtok.video.plan import plan_video
from mmtok.video.sampling import Sampling, fps_indices, uniform_frame_count, uniform_indices

QWEN = get_profile("qwen2-vl")
_STUBS = (
    "torchvision",
    "torchvision.transforms",
    "torchvision.transforms.v2",
    "torchvision.transforms.v2.functional",
)


@cache
def reference_module() -> types.ModuleType:
    name = "transformers.models.qwen2_vl.video_processing_qwen2_vl"
    if "torchvision" in sys.modules or name in sys.modules:
        return importlib.import_module(name)
    saved = {k: sys.modules.get(k) for k in _STUBS}
    sys.modules.update({k: types.ModuleType(k) for k in _STUBS})
    try:
        return importlib.import_module(name)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def defaults() -> SimpleNamespace:
    """The processor's class defaults (what an instance without overrides holds)."""
    cls = reference_module().Qwen2VLVideoProcessor
    return SimpleNamespace(
        num_frames=None,
        fps=None,
        temporal_patch_size=cls.temporal_patch_size,
        min_frames=cls.min_frames,
        max_frames=cls.max_frames,
        size=dict(cls.size),
        patch_size=cls.patch_size,
        merge_size=cls.merge_size,
    )


def reference_indices(total: int, video_fps: float, **kwargs: object) -> list[int]:
    cls = reference_module().Qwen2VLVideoProcessor
    meta = VideoMetadata(total_num_frames=total, fps=video_fps)
    return cls.sample_frames(defaults(), meta, **kwargs).tolist()


def assert_same_indices(ours: np.ndarray, ref: list[int], total: int) -> None:
    """Equal, except that the reference's float ``arange`` can produce one extra index equal
    to ``total`` (e.g. 17 frames, 14 wanted: ``⌈17 / (17/14)⌉ = 15`` elements), a frame that
    does not exist; mmtok returns exactly the ``n`` wanted."""
    n = len(ours)
    assert ours.tolist() == ref[:n]
    assert len(ref) == n or (len(ref) == n + 1 and ref[-1] == total)


def test_profile_matches_processor_defaults() -> None:
    d = defaults()
    assert (d.patch_size, d.merge_size, d.temporal_patch_size) == (14, 2, 2)
    assert (d.min_frames, d.max_frames) == (QWEN.video_min_frames, QWEN.video_max_frames)
    assert d.size == {"shortest_edge": QWEN.video_min_pixels, "longest_edge": QWEN.video_max_pixels}


@settings(max_examples=200)
@given(
    total=st.integers(2, 16_383),
    video_fps=st.floats(1.0, 120.0),
    fps=st.floats(0.2, 6.0),
    max_frames=st.integers(2, 768),
)
def test_fps_indices_equal_reference_sample_frames(
    total: int, video_fps: float, fps: float, max_frames: int
) -> None:
    ref = reference_indices(total, video_fps, fps=fps, max_frames=max_frames)
    ours = fps_indices(total, video_fps, Sampling(fps=fps, max_frames=max_frames))
    assert_same_indices(ours, ref, total)


@settings(max_examples=60)
@given(total=st.integers(16_384, 400_000), video_fps=st.floats(10.0, 60.0))
def test_long_videos_differ_from_float32_reference_by_at_most_one_frame(
    total: int, video_fps: float
) -> None:
    ref = np.array(reference_indices(total, video_fps, fps=2.0))
    ours = fps_indices(total, video_fps, Sampling())
    assert np.abs(ours - ref[: len(ours)]).max() <= 1


@settings(max_examples=100)
@given(total=st.integers(2, 16_383), data=st.data())
def test_uniform_indices_equal_reference(total: int, data: st.DataObject) -> None:
    asked = data.draw(st.integers(2, min(total, 768)))
    assume(round(asked / 2) * 2 <= total)  # the reference raises there; mmtok clamps
    n = uniform_frame_count(asked, total, temporal_patch_size=2)
    ref = reference_indices(total, 30.0, num_frames=asked)
    assert_same_indices(uniform_indices(total, n), ref, total)


@pytest.mark.parametrize(
    ("frames", "height", "width"), [(120, 720, 1280), (7, 480, 854), (2, 1080, 1920), (5, 67, 41)]
)
def test_patch_count_equals_reference(frames: int, height: int, width: int) -> None:
    cls = reference_module().Qwen2VLVideoProcessor
    patches = cls.get_num_of_video_patches(defaults(), frames, height, width, videos_kwargs={})
    plan = plan_video(QWEN, height, width, range(frames), frames, 30.0)
    t, h, w = plan.grid
    assert t * h * w == patches
    assert plan.tokens == patches // 4


def test_layout_and_normalisation_equal_reference_patchify() -> None:
    """Frames already at the target size (so no resize on either side): the reference's
    torch ``patchify`` on the fused rescale-normalise ``(x - 255·mean) / (255·std)``."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 336, 364, 3), dtype=np.uint8)
    plan = plan_video(QWEN, 336, 364, range(3), 3, 30.0)
    assert plan.resized == (336, 364)
    ours = preprocess_video(frames, QWEN, plan)

    video = torch.from_numpy(frames).permute(0, 3, 1, 2).float()[None]  # (1, T, C, H, W)
    mean = torch.tensor(QWEN.image_mean) * 255.0
    std = torch.tensor(QWEN.image_std) * 255.0
    video = (video - mean[:, None, None]) / std[:, None, None]
    cls = reference_module().Qwen2VLVideoProcessor
    patches, t, h, w = cls.patchify(defaults(), video, 14, 2, 2)
    assert ours.video_grid_thw.tolist() == [[t, h, w]]
    np.testing.assert_array_equal(ours.pixel_values, patches[0].numpy())
    table = video_normalize_table(QWEN.image_mean, QWEN.image_std, QWEN.rescale_factor)
    assert table[2, 200] == ((np.float32(200) - mean[2].item()) / std[2].item()).astype(np.float32)


def test_full_pixel_path_equals_processor() -> None:
    """Resize included: needs torchvision (the processor's resize)."""
    pytest.importorskip("torchvision")
    from transformers import Qwen2VLVideoProcessor

    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (6, 90, 160, 3), dtype=np.uint8)
    smooth = np.cumsum(base, axis=2, dtype=np.int64) % 256  # gradients, not only noise
    for frames in (base, smooth.astype(np.uint8), base[:5, :67, :41]):
        processor = Qwen2VLVideoProcessor()
        ref = processor(
            videos=[frames], do_sample_frames=False, cap_pixels_per_frame=False, return_tensors="pt"
        )
        t, h, w = frames.shape[:3]
        plan = plan_video(QWEN, h, w, range(t), t, 30.0)
        ours = preprocess_video(frames, QWEN, plan)
        assert ours.video_grid_thw.tolist() == ref["video_grid_thw"].tolist()
        diff = np.abs(ours.pixel_values - ref["pixel_values_videos"].numpy()).max()
        assert diff <= 1e-5
