"""Llama 4 (``llama4``): canvases, counts and ids equal transformers 5.24's ``Llama4Processor``
(Llama-4-Scout's settings: 336² tiles, at most 16, 144 tokens per tile).

Its image processor runs only on torchvision; it runs here unchanged on the test-only stand-in
of :mod:`tests.parity.wave2_references` (exact output shapes). Pixel values of that path are
not torchvision's, so only their shapes are compared: Llama 4 pixels are untested against a
reference (docs/families.md).
"""

from __future__ import annotations

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

L4 = get_profile("llama4")

sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 4000)),
    st.tuples(st.integers(200, 4000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 2500), st.integers(64, 2500)),
)


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    return w2.write_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer.json",
                              w2.LLAMA4_SPECIALS)  # fmt: skip


@pytest.fixture(scope="module")
def processor(tok_path):
    return w2.llama4_processor(tok_path)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=st.lists(sizes, min_size=1, max_size=2), words=st.sampled_from(["", "user\n\n"]))
def test_ids_equal_processor(processor, tok_path, hw, words):
    images = [random_image(w, h, seed=i) for i, (h, w) in enumerate(hw)]
    text = words + " and ".join(["<|image|>"] * len(images)) + " what?"
    want = processor(text=text, images=images, return_tensors="pt")
    request = {
        "prompt": text.replace("<|image|>", "<image>"),
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }
    tok = hf_tokenizer(tok_path)
    got = plan_sequence(request, L4, tok)
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
    assert count_request(request, L4, tok).total == want["input_ids"].shape[1]
    patch = tok.token_id("<|patch|>")
    assert sum(it.detail.feature_tokens for it in got.items) == int(
        (want["input_ids"][0] == patch).sum()
    )
    views = sum(preprocess_image(im, L4).pixel_values.shape[0] for im in images)
    assert want["pixel_values"].shape == (views, 3, 336, 336)


@settings(max_examples=60, deadline=None)
@given(hw=sizes, max_tiles=st.sampled_from([4, 9, 16]))
def test_canvas_equals_processor(hw, max_tiles):
    h, w = hw
    proc = w2.llama4_image_processor(max_patches=max_tiles)
    out = proc(random_image(w, h, seed=1), return_tensors="pt")
    rows, cols = out["aspect_ratios"][0].tolist()
    plan = L4.with_options(max_tiles=max_tiles).plan_image(h, w)
    assert plan.canvas == (rows * 336, cols * 336)
    assert plan.grid[0] == out["pixel_values"].shape[0]


def test_12_megapixel_photo_and_model_inputs(tok_path):
    row = count_file(png_claiming(4000, 3000), L4)  # header only: nothing to decode
    assert row.error is None
    # No canvas of ≤ 16 tiles upscales 4000×3000; the least downscale (0.336) is shared by
    # 3×4 and 4×4 tiles, the smaller area wins: 12 tiles + global = 13 × 144 features, plus
    # 8 x-separators, 4 y-separators, <|image_start|>, <|image|>, <|image_end|>.
    assert row.extra["canvas"] == [1008, 1344]
    assert row.feature_tokens == 13 * 144 and row.tokens == 13 * 144 + 12 + 3
    image = random_image(700, 300, seed=2)
    request = {
        "prompt": "<image>hi",
        "media": [{"type": "image", "data": encode_image(image, "PNG")}],
    }
    inputs = encode(request, L4, hf_tokenizer(tok_path)).to_model_inputs()
    assert {"input_ids", "attention_mask", "pixel_values"} <= set(inputs)


def test_readme_example(processor):
    image = random_image(1000, 700, seed=0)
    want = processor(text="<|image|>", images=[image], return_tensors="pt")
    assert count_file(encode_image(image, "PNG"), L4).tokens == want["input_ids"].shape[1]
