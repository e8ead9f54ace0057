"""Chat templates against the published Jinja templates available offline.

transformers 5.24 embeds Llama 4's default chat template in ``processing_llama4``
(``Llama4Processor``'s ``chat_template``); mmtok's ``llama4`` template must render the same
text through the processor's own ``apply_chat_template``. Gemma 3's and LLaVA-OneVision's
templates ship only with their checkpoints' tokenizers and are not available offline
(docs/families.md).
"""

from __future__ import annotations

import pytest

from mmtok.fusion.request import parse_request
from mmtok.text.templates import LLAMA4, Bos, Item, Special, Text, render
from tests.images import encode, random_image
from tests.parity import wave2_references as w2

BOS = "<|begin_of_text|>"
IMAGE = {"type": "image", "data": encode(random_image(8, 8, seed=1), "PNG")}
TEXT_B = {"type": "text", "text": "b"}


@pytest.fixture(scope="module")
def llama4(tmp_path_factory):
    from transformers.models.llama4.processing_llama4 import Llama4Processor

    from tests.parity.vl_references import _no_class_check

    path = w2.write_tokenizer(tmp_path_factory.mktemp("tok") / "t.json", w2.LLAMA4_SPECIALS)
    with _no_class_check():
        return Llama4Processor(w2.llama4_image_processor(), w2.hf_tokenizer(path, bos_token=BOS))


def _text(request: dict) -> str:
    """mmtok's rendering as the template's string: BOS, control tokens, ``<|image|>``."""
    out = []
    for piece in render(parse_request(request), LLAMA4):
        if isinstance(piece, Text):
            out.append(piece.text)
        elif isinstance(piece, Special):
            out.append(piece.token)
        elif isinstance(piece, Bos):
            out.append(BOS)
        elif isinstance(piece, Item):
            out.append(piece.label + "<|image|>")
    return "".join(out)


def _hf(messages: list[dict]) -> list[dict]:
    """The same messages as transformers takes them (an image part carries no data)."""
    return [
        {**m, "content": m["content"] if isinstance(m["content"], str)
         else [{"type": "image"} if c["type"] == "image" else c for c in m["content"]]}
        for m in messages
    ]  # fmt: skip


CASES = [
    [{"role": "user", "content": [IMAGE, {"type": "text", "text": " Describe  "}]}],
    [
        {"role": "system", "content": "  Be brief.\n"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello "},
        {"role": "user", "content": [{"type": "text", "text": "a"}, IMAGE, TEXT_B, IMAGE]},
    ],
    [
        {"role": "system", "content": [{"type": "text", "text": " sys "}]},
        {"role": "user", "content": [IMAGE]},
    ],
]


@pytest.mark.parametrize("messages", CASES)
@pytest.mark.parametrize("generation", [True, False])
def test_llama4_template_renders_as_published(llama4, messages, generation):
    want = llama4.apply_chat_template(
        _hf(messages), tokenize=False, add_generation_prompt=generation
    )
    assert _text({"messages": messages, "add_generation_prompt": generation}) == want
