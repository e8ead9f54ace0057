"""LLaVA-1.5 / LLaVA-NeXT: the expanded sequences (ids and lengths) equal transformers'
``LlavaProcessor`` / ``LlavaNextProcessor`` for the same prompt and images.

Both sides tokenize with the same WordLevel tokenizer (``<image>`` plus ``[UNK]``), so any
difference is the placeholder expansion itself.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mmtok.fusion.plan import count_request
from mmtok.fusion.tensors import encode
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import fusion_references as fref
from tests.parity import references as ref

sizes = st.lists(st.tuples(st.integers(1, 700), st.integers(1, 700)), min_size=1, max_size=3)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    return hf_tokenizer(fref.word_tokenizer_json(str(path)))


@pytest.mark.parametrize(
    ("name", "processor"),
    [("llava-1.5", ref.llava_processor), ("llava-next", ref.llava_next_processor)],
)
@settings(max_examples=40)
@given(hw=sizes, words=st.lists(st.sampled_from(["USER:", "what", "is\n", "ASSISTANT:"])))
def test_llava_expansion_equals_processor(name, processor, tokenizer, hw, words):
    assume(name != "llava-1.5" or all(max(h, w) / min(h, w) <= 200 for h, w in hw))
    images = [random_image(w, h, seed=i) for i, (h, w) in enumerate(hw)]
    prompt = " ".join(
        words[: len(words) // 2] + ["<image>"] * len(images) + words[len(words) // 2 :]
    )
    want = processor()(text=prompt, images=images, return_tensors="np")
    request = {
        "prompt": prompt,
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }
    profile = get_profile(name)
    got = encode(request, profile, tokenizer)
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
    assert count_request(request, profile, tokenizer).total == want["input_ids"].shape[1]
