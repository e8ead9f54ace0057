"""Preprocessing layout and arithmetic on hand-built inputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mmtok.errors import UnsupportedMediaError
from mmtok.image.pixels import normalize_table, patchify, preprocess_image, preprocess_images
from mmtok.profiles import get_profile


def test_normalize_table_values():
    table = normalize_table((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 1 / 255)
    # level 0 → (0 - 0.5)/0.5 = -1; level 255 → (1 - 0.5)/0.5 = 1; level 51 → (0.2-0.5)/0.5.
    assert table.shape == (3, 256) and table.dtype == np.float32
    assert table[0, 0] == -1.0 and table[2, 255] == 1.0
    assert abs(table[1, 51] - (-0.6)) < 1e-6


def test_patchify_order_by_hand():
    # One frame 1×4×4 (C=1), patch 1, merge 2: merge windows row-major, then inside a window.
    frame = np.arange(16).reshape(1, 1, 4, 4)
    out = patchify(frame, patch=1, merge=2, temporal=1)
    # Window (0,0) holds pixels 0,1,4,5; window (0,1) 2,3,6,7; (1,0) 8,9,12,13; (1,1) 10,11,14,15.
    assert out[:, 0].tolist() == [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]


def test_patchify_keeps_channels_then_time_inside_a_patch():
    # Two frames, two channels, a single 1×1 patch: the vector is (c0t0, c0t1, c1t0, c1t1).
    frames = np.array([[[[1]], [[2]]], [[[3]], [[4]]]])  # (T=2, C=2, 1, 1)
    assert patchify(frames, patch=1, merge=1, temporal=2).tolist() == [[1, 3, 2, 4]]


def test_qwen_image_repeats_over_the_temporal_patch():
    img = Image.new("RGB", (56, 56), (255, 0, 0))
    out = preprocess_image(img, get_profile("qwen2-vl"))
    # 56×56 → 4×4 patches; vector = C(3) × T(2) × 14 × 14; both time steps identical.
    assert out.pixel_values.shape == (16, 3 * 2 * 14 * 14)
    vec = out.pixel_values[0].reshape(3, 2, 14, 14)
    assert np.array_equal(vec[:, 0], vec[:, 1])
    red = (1.0 - 0.48145466) / 0.26862954
    assert abs(vec[0, 0, 0, 0] - red) < 1e-5


def test_generic_patches_have_no_time_axis():
    out = preprocess_image(Image.new("RGB", (64, 32)), get_profile("generic"))
    assert out.pixel_values.shape == (2 * 4, 3 * 16 * 16)


@given(w=st.integers(1, 300), h=st.integers(1, 300))
def test_shapes_follow_the_plan(w, h):
    img = Image.new("RGB", (w, h), (10, 20, 30))
    for name in ("qwen2-vl", "pixtral", "llava-1.5", "llava-next"):
        profile = get_profile(name)
        if name in ("qwen2-vl", "llava-1.5") and max(w, h) / min(w, h) > 200:
            continue
        out = preprocess_image(img, profile)
        plan = out.plan
        if name == "qwen2-vl":
            assert out.pixel_values.shape[0] == plan.grid[1] * plan.grid[2]
        elif name == "pixtral":
            assert out.pixel_values.shape == (3, *plan.resized)
        elif name == "llava-1.5":
            assert out.pixel_values.shape == (3, 336, 336)
        else:
            assert out.pixel_values.shape == (plan.grid[0], 3, 336, 336)


def test_batch_concatenates_patches_and_grids():
    imgs = [Image.new("RGB", (56, 56)), Image.new("RGB", (112, 56))]
    batch = preprocess_images(imgs, get_profile("qwen2-vl"))
    assert batch.pixel_values.shape == (16 + 32, 1176)
    assert batch.image_grid_thw.tolist() == [[1, 4, 4], [1, 4, 8]]


def test_preprocess_from_path_decodes_with_exif(tmp_path):
    from tests.images import encode, random_image

    path = tmp_path / "rot.jpg"
    path.write_bytes(encode(random_image(60, 30), "JPEG", orientation=6))
    out = preprocess_image(path, get_profile("pixtral"))
    # Displayed 30 wide × 60 tall → 2 × 4 tokens of 16 px.
    assert out.plan.token_grid == (4, 2)


def test_in_memory_bytes_are_named_bytes_in_errors():
    # A bytearray (as bytes) is named ``<bytes>``, never by its content.
    buf = io.BytesIO()
    Image.new("RGB", (1, 5000)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    with pytest.raises(UnsupportedMediaError) as caught:
        preprocess_image(data, "mistral3")  # the floored short side is 0 px
    assert str(caught.value).startswith("<bytes>: ")
