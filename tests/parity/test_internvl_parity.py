"""InternVL3 / 3.5 (``internvl3``): counts, ids and pixels equal transformers 5.24's
``InternVLProcessor`` with ``GotOcr2ImageProcessorPil``, loaded from a folder written with
``save_pretrained`` in OpenGVLab/InternVL3-8B-hf's settings; the same folder read by mmtok as
``--profile FOLDER`` plans the same sequences.

The folder's ``crop_to_patches: false`` (as the checkpoint ships it) is overridden by the
processor's own ``crop_to_patches=True`` on every call: dynamic tiling is on either way.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmtok.count import count_file
from mmtok.fusion.plan import count_request, plan_sequence
from mmtok.fusion.tensors import encode
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from tests.images import encode as encode_image
from tests.images import png_claiming, random_image
from tests.parity import tiling_references as tr
from tests.parity import wave2_references as w2

IVL = get_profile("internvl3")

# Thin panoramas, tiny icons, ordinary photos.
sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 3000)),
    st.tuples(st.integers(200, 3000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 2000), st.integers(64, 2000)),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("internvl")
    tok = w2.write_tokenizer(root / "tok.json", tr.INTERNVL_SPECIALS)
    return tr.internvl_folder(root / "InternVL3-8B-hf", tok)


@pytest.fixture(scope="module")
def processor(folder):
    return tr.internvl_processor(folder)


@pytest.fixture(scope="module")
def tokenizer(folder):
    return hf_tokenizer(folder / "tokenizer.json")


def _request(prompt: str, images) -> dict:
    return {
        "prompt": prompt,
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=st.lists(sizes, min_size=1, max_size=2), words=st.sampled_from(["", "user\n"]))
def test_ids_equal_processor(processor, folder, tokenizer, hw, words):
    images = [random_image(w, h, seed=i) for i, (h, w) in enumerate(hw)]
    text = words + " and ".join(["<IMG_CONTEXT>"] * len(images)) + " what?"
    want = processor(text=text, images=images, return_tensors="np")
    request = _request(text.replace("<IMG_CONTEXT>", "<image>"), images)
    for profile in (IVL, get_profile(folder)):
        got = plan_sequence(request, profile, tokenizer)
        assert got.input_ids.tolist() == want["input_ids"][0].tolist()
        assert count_request(request, profile, tokenizer).total == want["input_ids"].shape[1]
    context = tokenizer.token_id("<IMG_CONTEXT>")
    assert sum(it.detail.feature_tokens for it in got.items) == int(
        (want["input_ids"][0] == context).sum()
    )
    views = sum(it.detail.grid[0] for it in got.items)
    assert want["pixel_values"].shape == (views, 3, 448, 448)


@settings(max_examples=12, deadline=None)
@given(hw=sizes)
def test_pixels_equal_processor(processor, hw):
    h, w = hw
    image = random_image(w, h, seed=h * 7 + w)
    want = processor.image_processor(image, crop_to_patches=True, return_tensors="np")
    got = preprocess_image(image, IVL)
    assert got.pixel_values.shape == want["pixel_values"].shape
    assert got.plan.grid[0] == want["num_patches"][0]
    np.testing.assert_allclose(got.pixel_values, want["pixel_values"], atol=1e-5, rtol=0)


@settings(max_examples=40, deadline=None)
@given(hw=sizes, lo=st.integers(1, 3), hi=st.sampled_from([1, 4, 6, 12, 24]))
def test_tile_count_equals_processor(processor, hw, lo, hi):
    """Every min/max tile setting: mmtok's views = the processor's ``num_patches``."""
    h, w = hw
    options = {"crop_to_patches": True, "min_patches": min(lo, hi), "max_patches": hi}
    want = processor.image_processor.get_number_of_image_patches(h, w, options)
    plan = IVL.with_options(min_tiles=min(lo, hi), max_tiles=hi).plan_image(h, w)
    assert plan.grid[0] == want


def test_12_megapixel_photo(processor):
    row = count_file(png_claiming(4000, 3000), IVL)  # header only
    # 4:3 → the 4×3 grid (12 tiles, ratio 1.333 exact) + thumbnail: 13 × 256 + <img>, </img>
    assert (row.tokens, row.feature_tokens) == (13 * 256 + 2, 13 * 256)
    image = random_image(4000, 3000, seed=3)
    want = processor.image_processor(image, crop_to_patches=True, return_tensors="np")
    got = preprocess_image(image, IVL)
    np.testing.assert_allclose(got.pixel_values, want["pixel_values"], atol=1e-5, rtol=0)


def test_model_inputs(tokenizer):
    image = random_image(900, 300, seed=1)
    inputs = encode(_request("<image>hi", [image]), IVL, tokenizer).to_model_inputs()
    assert set(inputs) >= {"input_ids", "attention_mask", "pixel_values"}
    # 900×300: ratio 3 → a 1×3 grid, plus the thumbnail
    assert tuple(inputs["pixel_values"].shape) == (4, 3, 448, 448)


def test_folder_settings_are_read(tmp_path):
    tok = w2.write_tokenizer(tmp_path / "tok.json", tr.INTERNVL_SPECIALS)
    folder = tr.internvl_folder(tmp_path / "six", tok, max_patches=6)
    profile = get_profile(folder)
    want = tr.internvl_processor(folder).image_processor.get_number_of_image_patches(
        700, 2000, {"crop_to_patches": True}
    )
    assert profile.plan_image(700, 2000).grid[0] == want == 4  # 1×3 grid + thumbnail


def test_counting_decodes_nothing():
    """A PNG that only claims its size (no decodable pixels) is counted from its header."""
    row = count_file(png_claiming(1000, 300), IVL)
    assert row.error is None
    # ratio 3.33: 3×1 is closest (1 and 4 tiles are further) → 3 tiles + thumbnail
    assert (row.tokens, row.feature_tokens) == (4 * 256 + 2, 4 * 256)


def test_readme_example(processor):
    """README's 1000×700 row: ratio 1.43 → 3×2 tiles (1.5) + thumbnail = 7 × 256 + 2."""
    image = random_image(1000, 700, seed=0)
    want = processor(text="<IMG_CONTEXT>", images=[image], return_tensors="np")
    row = count_file(encode_image(image, "PNG"), IVL)
    assert row.tokens == want["input_ids"].shape[1] == 7 * 256 + 2
    assert row.feature_tokens == 7 * 256
