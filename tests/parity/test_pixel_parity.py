"""Preprocessed pixels equal the reference processors' on the same decoded images (≤ 1e-5).

20 random images per profile, each encoded as PNG and as JPEG, decoded once by mmtok and the
same RGB image handed to both sides. Sizes range from slivers to above the Qwen pixel cap;
some PNGs carry transparency (composited onto white by the decoder).
"""

from __future__ import annotations

import numpy as np
import pytest
from mistral_common.protocol.instruct.messages import ImageChunk

from mmtok.image.decode import decode_image
from mmtok.image.pixels import preprocess_image, preprocess_images
from mmtok.profiles import get_profile
from tests.images import encode, random_image
from tests.parity import references as ref

TOL = 1e-5


def _images(seed: int, n: int = 20):
    rng = np.random.default_rng(seed)
    for i in range(n):
        w, h = (int(v) for v in rng.integers(8, 1500, size=2))
        if i == 0:
            w, h = 1400, 1300  # above Qwen's 1,003,520-pixel cap
        if i == 1:
            w, h = 9, 700  # a narrow strip
        mode = "RGBA" if i % 5 == 4 else "RGB"
        for fmt in ("PNG", "JPEG"):
            src = random_image(w, h, seed=seed * 100 + i, mode=mode if fmt == "PNG" else "RGB")
            yield f"{fmt}-{w}x{h}", decode_image(encode(src, fmt))


def _max_diff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


@pytest.mark.parametrize("name", ["qwen2-vl", "qwen2.5-vl"])
def test_qwen_pixels(name):
    profile = get_profile(name)
    proc = ref.qwen_image_processor()
    for label, img in _images(1):
        expected = proc(images=[img], return_tensors="np")
        got = preprocess_image(img, profile)
        assert _max_diff(expected["pixel_values"], got.pixel_values) <= TOL, label
        assert tuple(expected["image_grid_thw"][0]) == got.plan.grid, label


def test_qwen_batch_equals_the_reference_batch():
    profile = get_profile("qwen2-vl")
    imgs = [img for _, img in _images(2, n=6)]
    expected = ref.qwen_image_processor()(images=imgs, return_tensors="np")
    got = preprocess_images(imgs, profile, workers=2)
    assert _max_diff(expected["pixel_values"], got.pixel_values) <= TOL
    assert np.array_equal(expected["image_grid_thw"], got.image_grid_thw)


def test_pixtral_pixels():
    encoder = ref.pixtral_image_encoder()
    profile = get_profile("pixtral")
    for label, img in _images(3):
        expected = encoder(ImageChunk(image=img))
        got = preprocess_image(img, profile)
        assert _max_diff(expected.image, got.pixel_values) <= TOL, label
        assert len(expected.tokens) == got.plan.tokens, label


def test_llava_pixels():
    proc = ref.llava_processor().image_processor
    profile = get_profile("llava-1.5")
    for label, img in _images(4):
        expected = proc(images=[img], return_tensors="np")["pixel_values"][0]
        assert _max_diff(expected, preprocess_image(img, profile).pixel_values) <= TOL, label


def test_llava_padded_pixels():
    proc = ref.llava_processor().image_processor
    profile = get_profile("llava-1.5").with_options(pad_to_square=True)
    for label, img in _images(5, n=6):
        expected = proc(images=[img], do_pad=True, return_tensors="np")["pixel_values"][0]
        assert _max_diff(expected, preprocess_image(img, profile).pixel_values) <= TOL, label


def test_llava_next_pixels():
    proc = ref.llava_next_processor().image_processor
    profile = get_profile("llava-next")
    for label, img in _images(6):
        expected = proc(images=[img], return_tensors="np")
        got = preprocess_image(img, profile)
        assert _max_diff(expected["pixel_values"][0], got.pixel_values) <= TOL, label
        assert tuple(expected["image_sizes"][0]) == (img.height, img.width)


def test_llava_next_batch_pads_tiles_like_the_reference():
    proc = ref.llava_next_processor().image_processor
    profile = get_profile("llava-next")
    imgs = [random_image(300, 300, seed=1), random_image(1000, 330, seed=2)]
    expected = proc(images=imgs, return_tensors="np")
    got = preprocess_images(imgs, profile)
    assert _max_diff(expected["pixel_values"], got.pixel_values) <= TOL
    assert np.array_equal(expected["image_sizes"], got.image_sizes)
