"""Placeholder expansion per layout, against sequences written out by hand."""

from __future__ import annotations

import pytest

from mmtok.errors import ConfigError
from mmtok.fusion.layout import (
    Modality,
    Span,
    assemble,
    audio_segment,
    image_segment,
    media_token_ids,
    text_segment,
    video_segment,
)
from mmtok.image.policies import ImagePlan
from mmtok.profiles import get_profile

T, I, V, A, S = (int(m) for m in Modality)  # noqa: E741
IDS = {
    "image": 10, "image_start": 11, "image_end": 12, "image_break": 13,
    "video": 20, "video_start": 21, "video_end": 22, "frame_sep": 23,
    "audio": 30, "audio_start": 31, "audio_end": 32,
}  # fmt: skip


def _ids(tokens):
    return {k: v for k, v in IDS.items() if k in tokens}


def test_qwen_image_is_fenced_pads():
    profile = get_profile("qwen2-vl")
    plan = profile.plan_image(56, 84)  # 4×6 patches → 2×3 merged tokens
    assert plan.tokens == 6
    seg = image_segment(plan, profile, _ids({"image", "image_start", "image_end"}), 0)
    assert seg.ids.tolist() == [11, 10, 10, 10, 10, 10, 10, 12]
    assert seg.modality.tolist() == [S, I, I, I, I, I, I, S]


def test_generic_image_fences_are_in_its_count():
    profile = get_profile("generic")
    plan = profile.plan_image(32, 48)  # 2×3 patches of 16 px, fences counted
    assert plan.tokens == 6 + 2
    seg = image_segment(plan, profile, _ids({"image", "image_start", "image_end"}), 0)
    assert seg.ids.tolist() == [11] + [10] * 6 + [12]


def test_pixtral_rows_end_with_break_and_last_with_end():
    profile = get_profile("pixtral")
    plan = profile.plan_image(32, 48)  # 2 rows × 3 cols of 16 px
    seg = image_segment(plan, profile, _ids({"image", "image_break", "image_end"}), 2)
    assert seg.ids.tolist() == [10, 10, 10, 13, 10, 10, 10, 12]
    assert seg.modality.tolist() == [I, I, I, S, I, I, I, S]
    assert (seg.kind, seg.index) == ("image", 2)


def test_llava_pads_only():
    profile = get_profile("llava-1.5")
    seg = image_segment(profile.plan_image(300, 500), profile, {"image": 10}, 0)
    assert seg.ids.tolist() == [10] * 576
    anyres = get_profile("llava-next")
    plan = anyres.plan_image(500, 300)
    seg = image_segment(plan, anyres, {"image": 10}, 0)
    assert len(seg.ids) == plan.tokens and set(seg.modality.tolist()) == {I}


def test_qwen_video_is_one_fenced_run():
    seg = video_segment(3, 4, _ids({"video", "video_start", "video_end"}), 1)
    assert seg.ids.tolist() == [21] + [20] * 12 + [22]
    assert seg.modality.tolist() == [S] + [V] * 12 + [S]


def test_generic_video_separates_frames_with_timestamps():
    seg = video_segment(3, 2, _ids(IDS), 0, stamps=[[7], [8, 9], []])
    assert seg.ids.tolist() == [21, 7, 20, 20, 23, 8, 9, 20, 20, 23, 20, 20, 22]
    assert seg.modality.tolist() == [S, T, V, V, S, T, T, V, V, S, V, V, S]


def test_qwen3_video_fences_each_patch_after_its_timestamp():
    ids = {**_ids({"video", "video_start", "video_end"}), "frame_start": 21, "frame_end": 22}
    seg = video_segment(2, 3, ids, 0, stamps=[[7, 8], [9]])
    assert seg.ids.tolist() == [21, 7, 8, 21, 20, 20, 20, 22, 9, 21, 20, 20, 20, 22, 22]
    assert seg.modality.tolist() == [S, T, T, S, V, V, V, S, T, S, V, V, V, S, S]


def test_glm_video_writes_each_timestamp_after_its_patch():
    ids = {"video": 10, "video_start": 41, "video_end": 42, "frame_start": 11, "frame_end": 12}
    seg = video_segment(2, 2, ids, 0, stamps=[[5], [6]], stamps_after=True)
    assert seg.ids.tolist() == [41, 11, 10, 10, 12, 5, 11, 10, 10, 12, 6, 42]
    assert seg.modality.tolist() == [S, S, V, V, S, T, S, V, V, S, T, S]


def test_audio_fenced_per_window():
    seg = audio_segment([3, 1], _ids(IDS), 0)
    assert seg.ids.tolist() == [31, 30, 30, 30, 32, 31, 30, 32]
    assert seg.modality.tolist() == [S, A, A, A, S, S, A, S]


def test_assemble_spans_merge_text_runs():
    profile = get_profile("pixtral")
    plan = ImagePlan(16, 16, (16, 16), (1, 1, 1), (1, 1), 2)
    ids, mods, spans = assemble(
        [
            text_segment([1], Modality.SPECIAL),
            text_segment([5, 6]),
            image_segment(plan, profile, _ids({"image", "image_break", "image_end"}), 0),
            text_segment([]),
            text_segment([7]),
            text_segment([4], Modality.SPECIAL),
            image_segment(plan, profile, _ids({"image", "image_break", "image_end"}), 1),
        ]
    )
    assert ids.tolist() == [1, 5, 6, 10, 12, 7, 4, 10, 12]
    assert mods.tolist() == [S, T, T, I, S, T, S, I, S]
    assert spans == (
        Span("text", 0, 0, 3),
        Span("image", 0, 3, 5),
        Span("text", 1, 5, 7),
        Span("image", 1, 7, 9),
    )
    assert spans[0].tokens == 3


def test_media_token_ids_only_for_used_kinds():
    def lookup(token: str) -> int:
        if token == "[AUD]":
            raise ConfigError("no [AUD]")
        return len(token)

    ids = media_token_ids(get_profile("generic").tokens, lookup, ["image"])
    assert set(ids) == {"image", "image_start", "image_end"}
    with pytest.raises(ConfigError):
        media_token_ids(get_profile("generic").tokens, lookup, ["audio"])
