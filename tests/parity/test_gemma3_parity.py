"""Gemma 3 (``gemma3``): counts, ids and pixels equal transformers 5.24's ``Gemma3Processor``
with the PIL image processor, built with google/gemma-3-4b-it's image settings, with and
without pan-and-scan (passed as ``do_pan_and_scan=True``, as vLLM users pass it).

Both sides tokenize with one byte-level BPE that merges runs of newlines, so the ``\\n\\n``
and pan-and-scan text the processor writes around each image must merge with the prompt's
neighbouring text exactly as it does in the reference.
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
from tests.parity import wave2_references as w2

GEMMA = get_profile("gemma3")
PAS = GEMMA.with_options(enabled=True)

# Thin panoramas, tiny icons, ordinary photos.
sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 3000)),
    st.tuples(st.integers(200, 3000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 1600), st.integers(64, 1600)),
)


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    return w2.write_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer.json", w2.GEMMA_SPECIALS)


@pytest.fixture(scope="module")
def processor(tok_path):
    return w2.gemma3_processor(tok_path)


@pytest.fixture(scope="module")
def tokenizer(tok_path):
    return hf_tokenizer(tok_path)


def _request(prompt: str, images) -> dict:
    return {
        "prompt": prompt,
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hw=st.lists(sizes, min_size=1, max_size=2),
    pas=st.booleans(),
    before=st.sampled_from(["", "user\n", "what is in this picture?", " \n"]),
    after=st.sampled_from(["", "\n\nDescribe it.", " please", "\n"]),
)
def test_ids_equal_processor(processor, tokenizer, hw, pas, before, after):
    images = [random_image(w, h, seed=i) for i, (h, w) in enumerate(hw)]
    text = before + after.join(["<start_of_image>"] * len(images)) + after
    want = processor(text=text, images=images, do_pan_and_scan=pas, return_tensors="np")
    request = _request(text.replace("<start_of_image>", "<image>"), images)
    profile = PAS if pas else GEMMA
    got = plan_sequence(request, profile, tokenizer)
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
    assert count_request(request, profile, tokenizer).total == want["input_ids"].shape[1]
    assert int((got.modality_ids == 1).sum()) == int(want["token_type_ids"].sum())
    for item, im in zip(got.items, images, strict=True):
        crops = processor.image_processor(im, do_pan_and_scan=pas)["num_crops"][0]
        assert item.detail.feature_tokens == 256 * (1 + crops)


@settings(max_examples=12, deadline=None)
@given(hw=sizes, pas=st.booleans())
def test_pixels_equal_processor(processor, hw, pas):
    h, w = hw
    image = random_image(w, h, seed=h * 7 + w)
    want = processor.image_processor(image, do_pan_and_scan=pas, return_tensors="np")
    got = preprocess_image(image, PAS if pas else GEMMA)
    assert got.pixel_values.shape == want["pixel_values"].shape
    np.testing.assert_allclose(got.pixel_values, want["pixel_values"], atol=1e-5, rtol=0)


def test_12_megapixel_photo_with_pan_and_scan(processor):
    image = random_image(4000, 3000, seed=3)
    want = processor.image_processor(image, do_pan_and_scan=True, return_tensors="np")
    got = preprocess_image(image, PAS)
    assert got.plan.grid[0] == want["pixel_values"].shape[0] == 1 + want["num_crops"][0]
    np.testing.assert_allclose(got.pixel_values, want["pixel_values"], atol=1e-5, rtol=0)


def test_model_inputs_carry_token_types(tokenizer):
    image = random_image(900, 300, seed=1)
    enc = encode(_request("<image>hi", [image]), PAS, tokenizer)
    inputs = enc.to_model_inputs()
    assert set(inputs) >= {"input_ids", "attention_mask", "pixel_values", "token_type_ids"}
    # 900×300: ratio 3 → 3 crops of 300×300 (≥ 256), after the original view
    assert tuple(inputs["pixel_values"].shape) == (1 + 3, 3, 896, 896)
    assert int(inputs["token_type_ids"].sum()) == 4 * 256


def test_counting_decodes_nothing():
    """A PNG that only claims its size (no decodable pixels) is counted from its header."""
    row = count_file(png_claiming(1000, 300), PAS)
    assert row.error is None
    # ratio 3.33 → round-half-up 3 crops of 334×300 (≥ 256), plus the original view
    assert (row.tokens, row.feature_tokens) == (4 * 258, 4 * 256)


def test_readme_example(processor):
    """README's 1000×700 row: one 896² view, 256 features + 2 fences; with pan-and-scan
    (ratio 1.43 ≥ 1.2) 2 crops follow."""
    image = random_image(1000, 700, seed=0)
    row = count_file(encode_image(image, "PNG"), GEMMA)
    assert (row.tokens, row.feature_tokens) == (258, 256)
    crops = processor.image_processor(image, do_pan_and_scan=True)["num_crops"][0]
    assert count_file(encode_image(image, "PNG"), PAS).feature_tokens == 256 * (1 + crops)
