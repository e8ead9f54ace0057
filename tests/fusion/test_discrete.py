"""``mmtok.fusion.discrete``: a prompt's ids for a VQ tokenizer folder from headers, the code
ids filled in, and the requests it refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmtok.errors import MediaError, RequestError
from mmtok.fusion.discrete import fill_codes, plan_discrete
from mmtok.fusion.layout import Modality
from tests.images import encode, random_image
from tests.parity.vq_folders import LETTERS, emu3_folder, janus_folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Config-only Janus and Emu3 folders (no weights: planning reads none) and an image."""
    root = tmp_path_factory.mktemp("vq")
    (root / "a.png").write_bytes(encode(random_image(30, 47), "PNG"))
    return root, janus_folder(root / "janus", weights=False), emu3_folder(root / "emu3", False)


def _request(root, prompt="ab <image>", **part):
    return {"prompt": prompt, "media": [{"type": "image", "path": str(root / "a.png"), **part}]}


def test_janus_span_by_hand(folders) -> None:
    """Janus (64² canvas, 16 px codes): text, <begin_of_image>, 16 codes as they are,
    <end_of_image>; no BOS (the test tokenizer adds none), nothing around the prompt."""
    root, janus, _ = folders
    plan = plan_discrete(_request(root), janus)
    a, b, space = (4 + LETTERS.index(c) for c in "ab ")
    assert plan.input_ids.tolist() == [a, b, space, 1, *[-1] * 16, 2]
    assert plan.items[0].grid == (4, 4) and plan.items[0].fill.tolist() == list(range(4, 20))
    assert plan.image_grid_thw.tolist() == [[1, 4, 4]]
    filled = fill_codes(plan, lambda item: range(100, 116))
    assert filled.filled and filled.input_ids.tolist() == [a, b, space, 1, *range(100, 116), 2]
    expected_modality = [Modality.TEXT] * 3 + [Modality.SPECIAL] + [Modality.IMAGE] * 16
    assert filled.modality_ids.tolist() == [*expected_modality, Modality.SPECIAL]
    assert [(s.modality, s.start, s.end) for s in filled.spans] == [
        ("text", 0, 3),
        ("image", 3, 21),
    ]
    arrays = filled.to_arrays()
    assert arrays["input_ids"].shape == (1, 21) and arrays["position_ids"].tolist() == [
        list(range(21))
    ]


def test_emu3_span_roles(folders) -> None:
    """Emu3, a 30×47 image: to multiples of 8, 32×48 = 1,536 px is below 40², so both sides
    scale by √(1600 / (30·47)) and round up: 32×56, codes 4 wide and 7 high. Roles: the
    processor's BOS text, size text TEXT, codes IMAGE, row ends and fences SPECIAL."""
    root, _, emu3 = folders
    plan = plan_discrete(_request(root, "<image>"), emu3)
    rows, cols = plan.items[0].grid
    assert (rows, cols) == (7, 4)
    ids, mods = plan.input_ids, plan.modality_ids
    size = f"{rows}*{cols}"
    assert ids[0] == plan.special_tokens["<|extra_203|>"]  # the processor's BOS text
    assert ids[1] == plan.special_tokens["<|image start|>"]
    assert mods[2 : 2 + len(size)].tolist() == [Modality.TEXT] * len(size)
    body = slice(3 + len(size), 3 + len(size) + rows * (cols + 1))
    assert ids[body].tolist() == [plan.special_tokens["<image>"]] * rows * (cols + 1)
    grid = mods[body].reshape(rows, cols + 1)
    assert (grid[:, :cols] == Modality.IMAGE).all() and (grid[:, cols] == Modality.SPECIAL).all()
    assert ids[-2:].tolist() == [plan.special_tokens[t] for t in ("<|extra_201|>", "<|image end|>")]
    assert plan.items[0].fill.tolist() == list(range(body.start, body.stop))


def test_refused_requests(folders) -> None:
    root, janus, _ = folders
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(RequestError, match="prompt-form"):
        plan_discrete(chat, janus)
    with pytest.raises(RequestError, match="per-image options"):
        plan_discrete(_request(root, max_pixels=1000), janus)
    audio = {"prompt": "<audio>", "media": [{"type": "audio", "path": str(root / "a.png")}]}
    with pytest.raises(RequestError, match="tokenizes images"):
        plan_discrete(audio, janus)
    plan = plan_discrete(_request(root), janus)
    with pytest.raises(MediaError, match="planned 16"):
        fill_codes(plan, lambda item: np.zeros(15))


def test_plan_json_has_the_sequence_keys(folders) -> None:
    root, janus, _ = folders
    data = plan_discrete(_request(root), janus).to_json()
    assert json.loads(json.dumps(data))["filled"] is False
    assert data["modality_totals"]["image"] == 16 and data["rope_delta"] == 0
