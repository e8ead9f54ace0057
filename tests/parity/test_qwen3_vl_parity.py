"""Qwen3-VL against transformers 5.24: ``Qwen3VLProcessor`` (``Qwen2VLImageProcessorPil`` with
the published folder's settings, ``Qwen3VLVideoProcessor`` under the torchvision stand-in of
``vl_references``) and ``Qwen3VLModel.get_rope_index`` of a tiny random model.

Images (drawn sizes): input ids, ``mm_token_type_ids``, grids, pixels (≤ 1e-5) and position
ids. Videos (drawn frame counts, rates, sizes, with and without ``cap_pixels_per_frame``):
sampled frames, grids, the ``<t seconds>`` texts, input ids and position ids, mmtok's layout
built from its header-only plan. Video pixels are not compared (see ``vl_references``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers.video_utils import VideoMetadata

from mmtok.fusion.layout import media_token_ids, video_segment
from mmtok.fusion.plan import plan_sequence, positions
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import load_tokenizer
from mmtok.video.plan import plan_video
from mmtok.video.sampling import fps_indices, sampling_for
from tests.images import encode, random_image
from tests.parity import vl_references as ref

QWEN3 = get_profile("qwen3-vl")


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    return ref.write_tokenizer(tmp_path_factory.mktemp("qwen3") / "tokenizer.json",
                               ref.QWEN3_SPECIALS)  # fmt: skip


def _rope(processor, out):
    tok = processor.tokenizer
    model = ref.qwen3_model(
        tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|video_pad|>")
    )
    grids = {k: torch.from_numpy(np.asarray(out[k])) for k in ("image_grid_thw", "video_grid_thw")
             if k in out}  # fmt: skip
    pos, delta = model.get_rope_index(
        torch.from_numpy(np.asarray(out["input_ids"])),
        mm_token_type_ids=torch.from_numpy(np.asarray(out["mm_token_type_ids"])),
        **grids,
    )
    return pos[:, 0].numpy(), int(delta[0, 0])


def test_profile_follows_the_processor_classes(tokenizer_file) -> None:
    processor = ref.qwen3_processor(tokenizer_file)
    videos = processor.video_processor
    assert (videos.patch_size, videos.merge_size, videos.temporal_patch_size) == (16, 2, 2)
    assert (videos.fps, videos.min_frames, videos.max_frames) == (2, 4, 768)
    assert (videos.size.shortest_edge, videos.size.longest_edge) == (
        QWEN3.video_min_pixels,
        QWEN3.video_max_pixels,
    )
    assert videos.max_video_tokens == 768


@settings(max_examples=25, deadline=None)
@given(w=st.integers(1, 700), h=st.integers(1, 700), text=st.sampled_from(["", "Look: ", "a"]))
def test_image_equals_processor(tokenizer_file, w, h, text) -> None:
    if max(w, h) / min(w, h) > 200:
        return
    processor = ref.qwen3_processor(tokenizer_file)
    img = random_image(w, h, seed=w * 1000 + h)
    ref.assert_image_equals_processor(
        processor,
        QWEN3,
        tokenizer_file,
        img,
        text,
        "<|vision_start|><|image_pad|><|vision_end|>",
        _rope,
    )


video_case = st.tuples(
    st.integers(1, 300),  # frames in the file
    st.sampled_from([1.0, 6.0, 12.5, 24.0, 29.97, 30.0, 60.0]),  # its frame rate
    st.integers(8, 300),  # width
    st.integers(8, 300),  # height
    st.sampled_from([None, 0.5, 1.0, 2.0, 3.0]),  # --fps (None: the profile's 2)
    st.booleans(),  # cap_pixels_per_frame
)


@settings(max_examples=30, deadline=None)
@given(case=video_case)
def test_video_equals_processor(tokenizer_file, case) -> None:
    total, video_fps, w, h, fps, cap = case
    if max(w, h) / min(w, h) > 200:
        return
    processor = ref.qwen3_processor(tokenizer_file, cap_pixels_per_frame=cap)
    check_video(processor, replace(QWEN3, video_cap_tokens=768 if cap else None),
                tokenizer_file, (total, video_fps, w, h, fps))  # fmt: skip


def check_video(processor, profile, tokenizer_file, case) -> None:
    """One clip shape through the processor and through mmtok's plan and layout."""
    total, video_fps, w, h, fps = case
    sampling = sampling_for(profile, fps=fps)
    indices = fps_indices(total, video_fps, sampling)
    meta = VideoMetadata(total_num_frames=total, fps=video_fps, duration=total / video_fps)
    ref_indices = processor.video_processor.sample_frames(meta, fps=fps)
    assert indices.tolist() == ref_indices.tolist()

    frames = np.zeros((total, h, w, 3), dtype=np.uint8)
    prompt = "A <|vision_start|><|video_pad|><|vision_end|> b"
    kwargs = {} if fps is None else {"fps": fps}
    if len(indices) < 2:  # the reference's smart resize refuses one frame; mmtok refuses too
        with pytest.raises(Exception, match="1 sampled frame"):
            plan_video(profile, h, w, indices, total, video_fps)
        return
    with ref.torchvision_stand_in():
        out = processor(text=[prompt], videos=[frames], video_metadata=[meta],
                        do_sample_frames=True, return_tensors="np", **kwargs)  # fmt: skip

    tok = load_tokenizer(tokenizer_file)
    plan = plan_video(profile, h, w, indices, total, video_fps,
                      timestamp_tokens=lambda s: len(tok.encode(s)))  # fmt: skip
    assert [list(plan.grid)] == out["video_grid_thw"].tolist()
    ids = media_token_ids(profile.tokens, tok.token_id, ["video"])
    stamps = [tok.encode(t) for t in plan.timestamp_texts]
    segment = video_segment(plan.grid[0], plan.frame_tokens, ids, 0, stamps)
    assert len(segment.ids) == plan.tokens + plan.fence_tokens
    input_ids = np.concatenate([tok.encode("A "), segment.ids, tok.encode(" b")])
    assert input_ids.tolist() == out["input_ids"][0].tolist()
    mods = np.concatenate([np.zeros(2, np.int8), segment.modality, np.zeros(2, np.int8)])
    assert np.where(mods <= 2, mods, 0).tolist() == out["mm_token_type_ids"][0].tolist()

    pos, delta = positions(mods, np.zeros((0, 3), np.int64), np.array([plan.grid]),
                           np.array([plan.seconds_per_grid], np.float32), profile)  # fmt: skip
    want, want_delta = _rope(processor, out)
    assert pos.tolist() == want.tolist()
    assert delta == want_delta


def test_whole_request_with_images_and_a_video(tokenizer_file, tmp_path) -> None:
    """A real MP4 and PNGs through ``plan_sequence`` (header-only): ids and positions equal the
    processor's on the same request, the clip's frames handed to it as decoded arrays."""
    fences = (
        "<|vision_start|><|image_pad|><|vision_end|>",
        "<|vision_start|><|video_pad|><|vision_end|>",
    )
    processor = ref.qwen3_processor(tokenizer_file)
    ref.assert_request_equals_processor(
        processor, QWEN3, tokenizer_file, tmp_path, (11, 5), 40, fences, _rope
    )


@pytest.mark.parametrize("cap", [False, True])
def test_model_folder_equals_processor(tokenizer_file, tmp_path, cap) -> None:
    """``--profile FOLDER`` for a folder written by ``save_pretrained`` (its own tokenizer,
    ``cap_pixels_per_frame`` as set): images and videos as the processor gives them."""
    from typer.testing import CliRunner

    import mmtok.cli.count  # noqa: F401  (registers the command)
    from mmtok.cli.app import app

    processor = ref.qwen3_processor(tokenizer_file, cap_pixels_per_frame=cap)
    folder = ref.write_folder(tmp_path / "qwen3", processor, ref.qwen3_model(1, 2).config)
    profile = get_profile(folder)
    assert profile.video_cap_tokens == (768 if cap else None)
    assert profile.rope == "mrope-frames" and profile.patch_size == 16
    img = random_image(333, 101, seed=5)
    plan = plan_sequence(
        {"prompt": "a <image>", "media": [{"type": "image", "data": encode(img, "PNG")}]}, folder
    )
    out = processor(text=["a <|vision_start|><|image_pad|><|vision_end|>"], images=[img],
                    return_tensors="np")  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    for case in [(90, 30.0, 320, 180, None), (7, 2.0, 640, 64, 1.0), (301, 25.0, 160, 90, 2.0)]:
        check_video(processor, profile, tokenizer_file, case)
    path = tmp_path / "a.png"
    img.save(path)
    result = CliRunner().invoke(app, ["count", "--profile", str(folder), "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert f'"tokens": {int(out["image_grid_thw"].prod()) // 4}' in result.output


def test_readme_example_equals_processor(tokenizer_file) -> None:
    """A 1000×700 image: the README's example row (682 tokens)."""
    img = Image.fromarray(np.full((700, 1000, 3), 128, np.uint8))
    out = ref.qwen3_processor(tokenizer_file)(
        text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[img], return_tensors="np"
    )
    plan = QWEN3.plan_image(700, 1000)
    assert plan.tokens == int(out["image_grid_thw"].prod()) // 4
    assert list(plan.grid) == out["image_grid_thw"][0].tolist()
