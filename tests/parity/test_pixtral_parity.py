"""Pixtral: mmtok's token ids equal mistral-common's ``encode_chat_completion`` of the same
chat request with the same images, using the Tekken tokenizer mistral-common ships.

Requests are hypothesis-drawn conversations: optional system prompts, user and assistant
turns (consecutive user turns included, which mistral-common merges), text chunks and images
of random sizes anywhere in user turns; they end with a user turn, as mistral-common's
validation requires.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from mistral_common.protocol.instruct.chunk import ImageChunk, TextChunk
from mistral_common.protocol.instruct.messages import (
    AssistantMessage,
    SystemMessage,
    UserMessage,
)
from mistral_common.protocol.instruct.request import ChatCompletionRequest

from mmtok.fusion.tensors import encode
from mmtok.profiles import get_profile
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import references as ref

words = st.text(alphabet="ab c,.\n!é字", max_size=12)
image = st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(0, 9))


@st.composite
def user_content(draw):
    chunks = draw(
        st.lists(st.one_of(words.map(lambda t: ("text", t)), image.map(lambda i: ("image", i))),
                 min_size=0, max_size=4)
    )  # fmt: skip
    if draw(st.booleans()) and all(kind == "text" for kind, _ in chunks):
        return "".join(t for _, t in chunks)  # plain string content
    return chunks


@st.composite
def conversations(draw):
    turns = [("system", draw(words.filter(bool)))] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 2))):
        turns.append(("user", draw(user_content())))
        if draw(st.booleans()):
            turns.append(("assistant", draw(words.filter(lambda t: t.strip()))))
    turns.append(("user", draw(user_content())))
    return turns


def _mistral(turns):
    messages = []
    for role, content in turns:
        if role == "system":
            messages.append(SystemMessage(content=content))
        elif role == "assistant":
            messages.append(AssistantMessage(content=content))
        elif isinstance(content, str):
            messages.append(UserMessage(content=content))
        else:
            chunks = [
                TextChunk(text=v) if kind == "text" else ImageChunk(image=random_image(*v))
                for kind, v in content
            ]
            messages.append(UserMessage(content=chunks))
    return ChatCompletionRequest(messages=messages)


def _mmtok(turns):
    messages = []
    for role, content in turns:
        if isinstance(content, str):
            messages.append({"role": role, "content": content})
            continue
        parts = [
            {"type": "text", "text": v}
            if kind == "text"
            else {"type": "image", "data": encode_image(random_image(*v), "PNG")}
            for kind, v in content
        ]
        messages.append({"role": role, "content": parts})
    return {"messages": messages}


@settings(max_examples=120)
@given(turns=conversations())
def test_pixtral_ids_equal_mistral_common(turns):
    want = ref.mistral_tokenizer().encode_chat_completion(_mistral(turns))
    got = encode(_mmtok(turns), get_profile("pixtral"))
    assert got.input_ids.tolist() == want.tokens
    assert len(got.images) == len(want.images)
    for ours, theirs in zip(got.images, want.images, strict=True):
        assert ours.pixel_values.shape == theirs.shape


def test_pixtral_image_first_rule():
    """mistral-common moves a user turn's single trailing image before its texts."""
    img = random_image(40, 20)
    want = ref.mistral_tokenizer().encode_chat_completion(
        ChatCompletionRequest(
            messages=[UserMessage(content=[TextChunk(text="Hi"), ImageChunk(image=img)])]
        )
    )
    content = [{"type": "text", "text": "Hi"}, {"type": "image", "data": encode_image(img, "PNG")}]
    got = encode({"messages": [{"role": "user", "content": content}]}, get_profile("pixtral"))
    assert got.input_ids.tolist() == want.tokens
    assert [s.modality for s in got.spans] == ["text", "image", "text"]
