"""M-RoPE position ids and deltas equal transformers' ``get_rope_index`` (Qwen2-VL and
Qwen2.5-VL, tiny random models) on 500 hypothesis-drawn batches each: 0–6 images and 0–3
videos interleaved with text per request, 1–4 requests, left or right padding.

transformers 5.x continues the text after an item at ``start + max(h, w)``
(``advance="spatial"``, mmtok's default); Qwen's published rule (transformers 4.x, vLLM)
continues at the item's largest position + 1 (``advance="max"``). The two differ only for
videos whose scaled time span exceeds their spatial side; each is checked against its own
reference here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.fusion.inputs import batch, encode_batch
from mmtok.fusion.layout import (
    Segment,
    assemble,
    image_segment,
    media_token_ids,
    text_segment,
    video_segment,
)
from mmtok.fusion.plan import positions
from mmtok.fusion.request import Request
from mmtok.fusion.tensors import Encoded
from mmtok.profiles import get_profile
from tests.images import encode, random_image
from tests.parity import fusion_references as ref

N = 500
# Seconds per temporal patch as fps sampling produces them (2 / fps), fractional ones included.
SPG = [2 / fps for fps in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 24.0)]

image_px = st.tuples(st.integers(20, 180), st.integers(20, 180))
video_grid = st.tuples(
    st.integers(1, 6), st.sampled_from([2, 4, 6, 8]), st.sampled_from([2, 4, 6, 8])
)


@st.composite
def request_items(draw):
    """One request's items in order: ``("text", n)``, ``("image", (h, w))`` or
    ``("video", (grid, spg))``, never two texts in a row."""
    kinds = ["image"] * draw(st.integers(0, 6)) + ["video"] * draw(st.integers(0, 3))
    kinds = draw(st.permutations(kinds))
    items = [("text", draw(st.integers(1, 4)))]
    for kind in kinds:
        if kind == "image":
            items.append(("image", draw(image_px)))
        else:
            items.append(("video", (draw(video_grid), draw(st.sampled_from(SPG)))))
        items.append(("text", draw(st.integers(0, 4))))
    return items


def build_row(items, profile, ids) -> Encoded:
    """An encoded request assembled with mmtok's layout and positions (no media tensors)."""
    segments: list[Segment] = []
    image_grids, video_grids, spgs = [], [], []
    for kind, value in items:
        if kind == "text":
            segments.append(text_segment(list(range(100, 100 + value))))
        elif kind == "image":
            plan = profile.plan_image(*value)
            segments.append(image_segment(plan, profile, ids, len(image_grids)))
            image_grids.append(plan.grid)
        else:
            (t, h, w), spg = value
            segments.append(video_segment(t, h * w // 4, ids, len(video_grids)))
            video_grids.append((t, h, w))
            spgs.append(spg)
    input_ids, mods, spans = assemble(segments)
    image_grid = np.array(image_grids, dtype=np.int64).reshape(-1, 3)
    video_grid = np.array(video_grids, dtype=np.int64).reshape(-1, 3)
    spg = np.array(spgs, dtype=np.float32)
    pos, delta = positions(mods, image_grid, video_grid, spg, profile, advance="spatial")
    return Encoded(
        input_ids, np.ones(len(input_ids), np.int64), mods, pos, delta, spans, (), (), (),
        image_grid, video_grid, spg, {}, profile,
    )  # fmt: skip


def _qwen_ids(profile):
    return media_token_ids(profile.tokens, ref.qwen_tokenizer().token_id, ["image", "video"])


def _hf(model, rows, encoded, with_spg: bool):
    kwargs = {}
    if with_spg:
        kwargs["second_per_grid_ts"] = torch.from_numpy(
            np.concatenate([r.second_per_grid_ts for r in rows])
        )
    image = np.concatenate([r.image_grid_thw for r in rows])
    video = np.concatenate([r.video_grid_thw for r in rows])
    mm = np.where(encoded.modality_ids <= 2, encoded.modality_ids, 0)
    pos, delta = model.get_rope_index(
        torch.from_numpy(encoded.input_ids),
        mm_token_type_ids=torch.from_numpy(mm.astype(np.int64)),
        image_grid_thw=torch.from_numpy(image) if len(image) else None,
        video_grid_thw=torch.from_numpy(video) if len(video) else None,
        attention_mask=torch.from_numpy(encoded.attention_mask),
        **kwargs,
    )
    return pos.numpy(), delta.numpy()


def _check_original(row: Encoded, profile) -> None:
    """``advance="max"`` equals the loop written from Qwen's published rule."""
    tps = profile.tokens_per_second  # None for Qwen2-VL: temporal patches step by 1
    steps = [float(np.float32(tps) * s) if tps else 1.0 for s in row.second_per_grid_ts]
    types = np.where(row.modality_ids <= 2, row.modality_ids, 0).tolist()
    want, want_delta = ref.original_rope_index(
        types, [tuple(g) for g in row.image_grid_thw], [tuple(g) for g in row.video_grid_thw], steps
    )
    got, delta = positions(
        row.modality_ids, row.image_grid_thw, row.video_grid_thw, row.second_per_grid_ts,
        profile, advance="max",
    )  # fmt: skip
    assert got.tolist() == want
    assert delta == want_delta


@pytest.mark.parametrize(
    ("name", "model"),
    [("qwen2-vl", ref.qwen2_vl_model), ("qwen2.5-vl", ref.qwen2_5_vl_model)],
)
@settings(max_examples=N)
@given(
    rows=st.lists(request_items(), min_size=1, max_size=4),
    padding=st.sampled_from(["left", "right"]),
)
def test_positions_equal_get_rope_index(name, model, rows, padding):
    profile = get_profile(name)
    ids = _qwen_ids(profile)
    built = [build_row(items, profile, ids) for items in rows]
    encoded = batch(built, padding=padding, pad_id=151643)
    want_pos, want_delta = _hf(model(), built, encoded, with_spg=name == "qwen2.5-vl")
    assert encoded.position_ids.tolist() == want_pos.tolist()
    assert encoded.rope_deltas.tolist() == want_delta.tolist()
    for row in built:
        _check_original(row, profile)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three tiny clips: (frames, (w, h), fps)."""
    folder = tmp_path_factory.mktemp("videos")
    specs = [(8, (64, 48), 4), (12, (48, 96), 6), (6, (80, 80), 2)]
    paths = []
    for i, (frames, size, fps) in enumerate(specs):
        path = folder / f"clip{i}.mp4"
        ref.write_video(path, frames, size, fps)
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    ("name", "model"),
    [("qwen2-vl", ref.qwen2_vl_model), ("qwen2.5-vl", ref.qwen2_5_vl_model)],
)
@settings(max_examples=25)
@given(data=st.data(), padding=st.sampled_from(["left", "right"]))
def test_encoded_requests_equal_get_rope_index(name, model, videos, data, padding):
    """Whole requests (real PNGs and MP4s, chat template, Qwen vocabulary) through
    ``encode_batch``: positions, deltas and grids as ``get_rope_index`` takes them."""
    profile = get_profile(name)
    requests = []
    for _ in range(data.draw(st.integers(1, 3))):
        content = [{"type": "text", "text": "Look:"}]
        for _ in range(data.draw(st.integers(0, 3))):
            if data.draw(st.booleans()):
                w, h = data.draw(image_px)
                content.append({"type": "image", "data": encode(random_image(w, h), "PNG")})
            else:
                fps = data.draw(st.sampled_from([1.0, 2.0, 4.0]))
                content.append(
                    {"type": "video", "path": data.draw(st.sampled_from(videos)), "fps": fps}
                )
            content.append({"type": "text", "text": data.draw(st.sampled_from(["", " and", "?"]))})
        requests.append(
            Request.model_validate({"messages": [{"role": "user", "content": content}]})
        )
    tok = ref.qwen_tokenizer()
    encoded = encode_batch(
        requests, profile, tok, padding=padding, pad_id=151643, advance="spatial"
    )
    inputs = encoded.to_model_inputs()
    want_pos, want_delta = model().get_rope_index(
        inputs["input_ids"],
        mm_token_type_ids=inputs["mm_token_type_ids"],
        image_grid_thw=inputs.get("image_grid_thw"),
        video_grid_thw=inputs.get("video_grid_thw"),
        attention_mask=inputs["attention_mask"],
        **(
            {"second_per_grid_ts": inputs["second_per_grid_ts"]}
            if "second_per_grid_ts" in inputs
            else {}
        ),
    )
    assert inputs["position_ids"].tolist() == want_pos.tolist()
    assert encoded.rope_deltas.tolist() == want_delta.tolist()


def test_forward_accepts_model_inputs(videos):
    """A tiny random Qwen2.5-VL runs ``forward`` on ``to_model_inputs()``: pixel tensors,
    grids and placeholder counts agree with what the model's own checks demand."""
    png = encode(random_image(90, 60), "PNG")
    request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "data": png},
                    {"type": "text", "text": "and"},
                    {"type": "video", "path": str(videos[0])},
                ],
            }
        ]
    }
    tok = ref.qwen_tokenizer()
    inputs = encode_batch([request], get_profile("qwen2.5-vl"), tok).to_model_inputs()
    with torch.no_grad():
        out = ref.qwen2_5_vl_model()(**inputs)
    assert out.last_hidden_state.shape == (*inputs["input_ids"].shape, 32)
