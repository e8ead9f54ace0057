"""The packed-row reader against a tiny random Qwen2-VL: every sample inside a packed row
gets the hidden states it gets alone (positions restart, attention stops at boundaries),
through transformers' position-based packing and through the explicit block mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmtok.fusion import encode
from mmtok.pretokenize import RowOptions, pretokenize
from mmtok.pretokenize.pack import PackOptions, pack
from mmtok.pretokenize.read import IGNORE, block_causal_mask, read_packed, sample_positions
from tests.parity.fusion_references import QWEN_TIKTOKEN, qwen2_vl_model
from tests.pretokenize_data import chat, image, write_jsonl, write_media

REQUESTS = [
    {"id": "a", "prompt": "Describe <image> briefly", "media": [image("wide.png")]},
    {"id": "b", "prompt": "Just some words, no media."},
    {"id": "c", **chat({"type": "text", "text": "Compare"}, image("photo.jpg"), image("wide.png"))},
]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    import json

    folder = tmp_path_factory.mktemp("data")
    write_media(folder)
    source = write_jsonl(folder / "r.jsonl", [json.dumps(r) for r in REQUESTS])
    options = RowOptions(tokenizer=QWEN_TIKTOKEN)
    pretokenize(source, folder / "rows", options, workers=1)
    pack(folder / "rows", folder / "packed", PackOptions(context=4096, pad_to_multiple=64))
    return folder, source


def _alone(request, folder):
    """The request encoded alone (with its pixels), as the model takes it."""
    data = {k: v for k, v in request.items() if k != "id"}
    from mmtok.fusion import parse_request

    inputs = encode(parse_request(data, base=folder), "qwen2-vl", QWEN_TIKTOKEN).to_model_inputs()
    inputs.pop("attention_mask")
    inputs.pop("mm_token_type_ids", None)
    return inputs


@pytest.mark.parametrize(
    ("attention", "implementation"), [("positions", "sdpa"), ("mask", "eager")]
)
def test_each_sample_in_a_packed_row_equals_it_alone(packed, attention, implementation):
    folder, _ = packed
    model = qwen2_vl_model()
    model.config._attn_implementation = implementation
    model.language_model.config._attn_implementation = implementation
    [(ids, inputs)] = list(read_packed(folder / "packed", attention=attention))
    by_id = {r["id"]: r for r in REQUESTS}
    alone = [_alone(by_id[i], folder) for i in ids]
    pixels = torch.cat([a["pixel_values"] for a in alone if "pixel_values" in a])
    kwargs = {k: v for k, v in inputs.items() if k != "labels"}  # the base model has no loss
    with torch.no_grad():
        together = model(pixel_values=pixels, **kwargs).last_hidden_state[0]
        cu = inputs["cu_seq_lens_q"].tolist()
        for a, start, end in zip(alone, cu[:-1], cu[1:], strict=False):
            assert torch.equal(a["input_ids"][0], inputs["input_ids"][0, start:end])
            own = model(**a).last_hidden_state[0]
            torch.testing.assert_close(together[start:end], own, rtol=1e-4, atol=1e-5)


def test_positions_masks_and_labels_of_a_small_row():
    seq_lens = np.array([3, 2])
    assert sample_positions(seq_lens, 7).tolist() == [0, 1, 2, 0, 1, 0, 0]
    mask = block_causal_mask(np.array([0, 3, 5, 7]), 7)
    expected = np.zeros((7, 7), bool)
    for a, b in ((0, 3), (3, 5), (5, 7)):  # padding is its own last segment here
        expected[a:b, a:b] = np.tri(b - a, dtype=bool)
    assert (mask == expected).all()
    padded = block_causal_mask(np.array([0, 3, 5]), 7)  # padding past the last boundary
    assert padded[5].tolist() == [False] * 5 + [True, False]
    assert padded[6].tolist() == [False] * 6 + [True]


def test_labels_skip_media_padding_and_sample_starts(packed):
    folder, _ = packed
    [(_, inputs)] = list(read_packed(folder / "packed"))
    labels, ids = inputs["labels"][0], inputs["input_ids"][0]
    cu = inputs["cu_seq_lens_q"].tolist()
    assert all(labels[s] == IGNORE for s in cu[:-1])
    assert (labels[cu[-1] :] == IGNORE).all() and len(ids) % 64 == 0
    assert (labels[ids == 151655] == IGNORE).all()  # <|image_pad|>
    text = (labels != IGNORE).nonzero()[:, 0]
    assert torch.equal(labels[text], ids[text])
    assert inputs["position_ids"].shape == (4, 1, len(ids))
