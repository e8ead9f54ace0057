"""LLaVA-OneVision (``llava-onevision``): counts, ids and pixels equal transformers 5.24's
``LlavaOnevisionProcessor`` with the PIL image processor and llava-onevision-qwen2-7b-ov-hf's
settings (anyres_max_9, 729 features per view, ``full`` feature selection), one image per
request (the single-image path; see docs/families.md for several images)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmtok.count import count_file
from mmtok.errors import UnsupportedMediaError
from mmtok.fusion.plan import count_request, plan_sequence
from mmtok.fusion.tensors import encode
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from tests.images import encode as encode_image
from tests.images import png_claiming, random_image
from tests.parity import wave2_references as w2

OV = get_profile("llava-onevision")

sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 4000)),
    st.tuples(st.integers(200, 4000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 2500), st.integers(64, 2500)),
)


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    return w2.write_tokenizer(path, w2.ONEVISION_SPECIALS)


@pytest.fixture(scope="module")
def processor(tok_path):
    return w2.onevision_processor(tok_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=sizes)
def test_count_equals_processor(processor, hw):
    h, w = hw
    want = processor._get_num_multimodal_tokens(image_sizes=[(h, w)])["num_image_tokens"][0]
    plan = OV.plan_image(h, w)
    assert plan.tokens == plan.feature_tokens == want


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=sizes, words=st.sampled_from(["", "user ", "what is\nthis?"]))
def test_ids_and_pixels_equal_processor(processor, tok_path, hw, words):
    h, w = hw
    image = random_image(w, h, seed=h + w)
    text = words + "<image>\nDescribe."
    want = processor(text=text, images=[image], return_tensors="np")
    request = {"prompt": text, "media": [{"type": "image", "data": encode_image(image, "PNG")}]}
    tok = hf_tokenizer(tok_path)
    got = plan_sequence(request, OV, tok)
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
    assert count_request(request, OV, tok).total == want["input_ids"].shape[1]
    pixels = preprocess_image(image, OV).pixel_values
    assert pixels.shape == want["pixel_values"][0].shape
    np.testing.assert_allclose(pixels, want["pixel_values"][0], atol=1e-5, rtol=0)


def test_12_megapixel_photo(processor):
    want = processor._get_num_multimodal_tokens(image_sizes=[(3000, 4000)])["num_image_tokens"]
    row = count_file(png_claiming(4000, 3000), OV)  # header only: nothing to decode
    assert row.error is None and row.tokens == want[0]


def test_readme_example(processor):
    want = processor._get_num_multimodal_tokens(image_sizes=[(700, 1000)])["num_image_tokens"]
    assert count_file(png_claiming(1000, 700), OV).tokens == want[0]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=st.lists(sizes.filter(lambda s: max(s) <= 200 * min(s)), min_size=2, max_size=3))
def test_several_images_are_one_padded_view_each(processor, tok_path, hw):
    """The images of one sample (nested, as ``apply_chat_template`` passes them): each one
    mean-padded 384² view of 729 features + a newline. (Beyond an aspect ratio of 200 the
    padded square is refused, as for LLaVA-1.5: see the test below.)"""
    images = [random_image(w, h, seed=i + h) for i, (h, w) in enumerate(hw)]
    text = "user " + " and ".join(["<image>"] * len(images)) + "\nCompare."
    want = processor(text=text, images=[images], return_tensors="np")
    request = {
        "prompt": text,
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }
    got = plan_sequence(request, OV, hf_tokenizer(tok_path))
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
    assert [it.detail.tokens for it in got.items] == [730] * len(images)
    for image, expected in zip(images, want["pixel_values"], strict=True):
        pixels = preprocess_image(image, OV.among(len(images))).pixel_values
        np.testing.assert_allclose(pixels, expected[0], atol=1e-5, rtol=0)  # one view


def test_several_images_refuse_a_padded_square_beyond_ratio_200(tok_path):
    request = {"prompt": "<image><image>", "media": [
        {"type": "image", "data": png_claiming(4000, 10)},
        {"type": "image", "data": png_claiming(100, 100)},
    ]}  # fmt: skip
    with pytest.raises(UnsupportedMediaError, match="aspect ratio 400"):
        count_request(request, OV, hf_tokenizer(tok_path))


def test_several_images_model_inputs_equal_processor(processor, tok_path):
    images = [random_image(300, 200, seed=1), random_image(200, 500, seed=2)]
    want = processor(text="<image><image> hi", images=[images], return_tensors="np")
    request = {
        "prompt": "<image><image> hi",
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }
    got = encode(request, OV, hf_tokenizer(tok_path)).to_model_inputs()
    np.testing.assert_allclose(got["pixel_values"], want["pixel_values"], atol=1e-5, rtol=0)
    for key in ("input_ids", "image_sizes", "batch_num_images"):
        assert got[key].tolist() == want[key].tolist(), key
