"""LLaVA-OneVision video (``llava-onevision``): ids, counts, sampled frames and model inputs equal
transformers 5.24's ``LlavaOnevisionProcessor`` with its real ``LlavaOnevisionVideoProcessor``,
and a tiny random ``LlavaOnevisionForConditionalGeneration`` accepts mmtok's model inputs (its
forward checks that the ``<video>`` tokens match the pooled features: frames × 196 + 1).

The video processor runs only on torchvision; it runs here on the test-only stand-in of
``tests/parity/vl_references.py`` (exact output shapes: ``resize`` returns the requested size,
as torchvision's does). Its resize values are not torchvision's, so pixels are compared only
for frames already at 384², where both resizes return the frames unchanged and the
normalisation and frame order are the processor's own code; **the bicubic resize of other
frame sizes is untested against a reference** (no PIL video processor exists).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.video_utils import VideoMetadata

from mmtok.budget.density import video_density
from mmtok.count import count_file
from mmtok.errors import ConfigError
from mmtok.fusion.layout import media_token_ids, video_segment
from mmtok.fusion.plan import count_request, plan_sequence
from mmtok.fusion.tensors import encode
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from mmtok.video.frames import decode_frames
from mmtok.video.plan import plan_video
from mmtok.video.sampling import header_indices, sampling_for
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import vl_references as vl
from tests.parity import wave2_references as w2
from tests.parity.fusion_references import write_video

OV = get_profile("llava-onevision")
VIDEO = importlib.import_module(
    "transformers.models.llava_onevision.video_processing_llava_onevision"
)


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    return w2.write_tokenizer(path, w2.ONEVISION_SPECIALS)


def ov_processor(tok_path, **video: object):
    """llava-onevision-qwen2-7b-ov-hf's processor, its video processor included."""
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )
    from transformers.models.llava_onevision.processing_llava_onevision import (
        LlavaOnevisionProcessor,
    )

    with vl._no_class_check():
        return LlavaOnevisionProcessor(
            LlavaOnevisionImageProcessorPil(), w2.hf_tokenizer(tok_path),
            VIDEO.LlavaOnevisionVideoProcessor(**video), num_image_tokens=729,
            vision_feature_select_strategy="full", vision_aspect_ratio="anyres_max_9",
        )  # fmt: skip


@pytest.fixture(scope="module")
def processor(tok_path):
    return ov_processor(tok_path)


def test_profile_follows_the_video_processor_class():
    cls = VIDEO.LlavaOnevisionVideoProcessor
    assert dict(cls.size) == {"height": OV.video_size[0], "width": OV.video_size[1]}
    assert (tuple(cls.image_mean), tuple(cls.image_std)) == (OV.image_mean, OV.image_std)


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(1, 3000),
    video_fps=st.sampled_from([1.0, 12.5, 24.0, 29.97, 30.0, 60.0]),
    num_frames=st.integers(1, 64),
    fps=st.sampled_from([None, 0.5, 1.0, 2.0, 3.0]),
)
def test_sampled_frames_equal_the_processor_sampler(processor, total, video_fps, num_frames, fps):
    """Uniform ``num_frames`` (the default: 8) and ``fps`` sampling equal the video processor's
    ``sample_frames`` wherever it samples (it refuses more frames than the clip has; mmtok
    takes them all)."""
    meta = VideoMetadata(total_num_frames=total, fps=video_fps, duration=total / video_fps)
    kwargs = {"num_frames": num_frames} if fps is None else {"fps": fps}
    ours = header_indices(total, video_fps, sampling_for(OV, **kwargs))
    try:
        want = processor.video_processor.sample_frames(meta, **kwargs)
    except ValueError:
        assert ours.tolist() == list(range(total))
        return
    assert ours.tolist() == want.tolist()
    if fps is None and num_frames == 8:
        assert ours.tolist() == header_indices(total, video_fps, sampling_for(OV)).tolist()


@settings(max_examples=12, deadline=None)
@given(
    frames=st.integers(1, 12),
    w=st.integers(1, 200),
    h=st.integers(1, 200),
    words=st.sampled_from(["", "user ", "what is\nthis?"]),
)
def test_video_ids_and_count_equal_processor(processor, tok_path, tmp_path_factory, frames, w, h,
                                             words):  # fmt: skip
    """A clip of ``frames`` frames: ``frames × 196 + 1`` ``<video>`` in the processor's ids,
    ``pixel_values_videos`` ``(1, frames, 3, 384, 384)`` as mmtok's model inputs."""
    clip = np.zeros((frames, h, w, 3), dtype=np.uint8)
    with vl.torchvision_stand_in():
        want = processor(text=words + "<video>\nDescribe.", videos=[clip], return_tensors="np")
    sizes = processor._get_num_multimodal_tokens(video_sizes=[(frames, h, w)])
    plan = plan_video(OV, h, w, list(range(frames)), frames, 30.0)
    assert sizes["num_video_tokens"] == [plan.tokens] == [frames * 196 + 1]
    assert plan.grid == (frames, 27, 27)
    tok = hf_tokenizer(tok_path)
    ids = media_token_ids(OV.tokens, tok.token_id, ["video"])
    segment = video_segment(frames, plan.frame_tokens, ids, 0, tail=OV.video_additional_tokens)
    text = [tok.encode(words), segment.ids, tok.encode("\nDescribe.")]
    assert np.concatenate(text).tolist() == want["input_ids"][0].tolist()
    assert want["pixel_values_videos"].shape == (1, frames, 3, *OV.video_size)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 40-frame 384×384 MPEG-4 clip at 10 fps (frames already at the model's size)."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_video(path, 40, (384, 384), 10)
    return path


def _request(prompt, *media):
    return {"prompt": prompt, "media": list(media)}


def test_request_ids_pixels_and_model_inputs_equal_processor(processor, tok_path, clip):
    """A real clip through ``encode``: its 8 uniformly sampled frames (the default) handed to
    the processor decoded; ids, ``pixel_values_videos`` (≤ 1e-5) and keys equal."""
    tok = hf_tokenizer(tok_path)
    request = _request("user <video>\nWhat happens?", {"type": "video", "path": str(clip)})
    plan = plan_sequence(request, OV, tok)
    (item,) = plan.items
    assert item.selection.indices == (0, 5, 10, 15, 20, 25, 30, 35)
    assert item.selection.decoded == "header"
    frames = decode_frames(clip, list(item.selection.indices))
    with vl.torchvision_stand_in():
        want = processor(text="user <video>\nWhat happens?", videos=[frames], return_tensors="np")
    assert plan.input_ids.tolist() == want["input_ids"][0].tolist()
    assert count_request(request, OV, tok).total == want["input_ids"].shape[1]
    got = encode(request, OV, tok).to_model_inputs()
    assert set(got) == {"input_ids", "attention_mask", "position_ids", "pixel_values_videos"}
    np.testing.assert_allclose(
        got["pixel_values_videos"].numpy(), want["pixel_values_videos"], atol=1e-5, rtol=0
    )


def test_image_and_video_in_one_request_equal_processor(processor, tok_path, clip):
    """One image (any-resolution tiles: the only image of its sample) beside a video."""
    tok = hf_tokenizer(tok_path)
    image = random_image(500, 300, seed=3)
    text = "user <image> then <video>\nCompare."
    request = _request(
        text, {"type": "image", "data": encode_image(image, "PNG")},
        {"type": "video", "path": str(clip)},
    )  # fmt: skip
    plan = plan_sequence(request, OV, tok)
    frames = decode_frames(clip, list(plan.items[1].selection.indices))
    with vl.torchvision_stand_in():
        want = processor(text=text, images=[image], videos=[frames], return_tensors="np")
    assert plan.input_ids.tolist() == want["input_ids"][0].tolist()


def test_model_forward_takes_the_inputs(tok_path, clip):
    """A tiny random LLaVA-OneVision (SigLIP at 384/14) runs on mmtok's model inputs: its
    forward refuses any mismatch between ``<video>`` tokens and pooled video features."""
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    tok = hf_tokenizer(tok_path)
    request = _request("user <video> and <video>", *[{"type": "video", "path": str(clip)}] * 2)
    inputs = encode(request, replace(OV, video_num_frames=2), tok).to_model_inputs()
    assert inputs["pixel_values_videos"].shape == (2, 2, 3, 384, 384)
    torch.manual_seed(0)
    config = LlavaOnevisionConfig(
        vision_config={"model_type": "siglip_vision_model", "hidden_size": 16,
                       "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 384, "patch_size": 14},
        text_config={"model_type": "qwen2", "vocab_size": 500, "hidden_size": 16,
                     "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "num_key_value_heads": 1},
        image_token_id=tok.token_id("<image>"), video_token_id=tok.token_id("<video>"),
        vision_feature_layer=-1, vision_feature_select_strategy="full",
    )  # fmt: skip
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape[1] == inputs["input_ids"].shape[1]
    assert int((inputs["input_ids"] == config.video_token_id).sum()) == 2 * (2 * 196 + 1)


def test_videos_of_different_frame_counts_cannot_share_a_batch(tok_path, tmp_path):
    from mmtok.errors import RequestError

    short = tmp_path / "short.mp4"
    write_video(short, 3, (64, 48), 5)
    request = _request("<video><video>", {"type": "video", "path": str(short)},
                       {"type": "video", "path": str(short)})  # fmt: skip
    encoded = encode(request, OV, hf_tokenizer(tok_path))  # 3 frames each: fine
    assert encoded.to_model_inputs()["pixel_values_videos"].shape[:2] == (2, 3)
    long = tmp_path / "long.mp4"
    write_video(long, 12, (64, 48), 5)
    request["media"][1] = {"type": "video", "path": str(long)}
    with pytest.raises(RequestError, match="3 and 8 sampled frames"):
        encode(request, OV, hf_tokenizer(tok_path)).to_model_inputs()


def test_count_rows_and_density_are_header_only(processor, clip):
    row = count_file(clip, OV)
    assert row.error is None and row.extra["decoded"] == "header"
    assert (
        row.tokens
        == processor._get_num_multimodal_tokens(video_sizes=[(8, 384, 384)])["num_video_tokens"][0]
    )
    assert row.feature_tokens == row.tokens  # every one a <video> in the processor's ids
    assert row.extra["sampled_frames"] == [0, 5, 10, 15, 20, 25, 30, 35]
    assert all(r.tokens == 8 * 196 + 1 for r in video_density(OV))


def _folder(tmp_path, tok_path, **video):
    folder = tmp_path / "ov"
    ov_processor(tok_path, **video).save_pretrained(folder)
    return folder


def test_model_folder_reads_the_video_processor(tmp_path, tok_path, clip):
    folder = _folder(tmp_path, tok_path, num_frames=16, do_sample_frames=True)
    profile = get_profile(folder)
    assert (profile.video_size, profile.video_num_frames) == ((384, 384), 16)
    processor = ov_processor(tok_path, num_frames=16, do_sample_frames=True)
    meta = VideoMetadata(total_num_frames=40, fps=10.0, duration=4.0)
    frames = decode_frames(clip, list(range(40)))
    text = "user <video> ok"
    with vl.torchvision_stand_in():
        want = processor(text=text, videos=[frames], video_metadata=[meta], return_tensors="np")
    tok = hf_tokenizer(folder / "tokenizer.json")
    plan = plan_sequence(_request(text, {"type": "video", "path": str(clip)}), profile, tok)
    assert plan.input_ids.tolist() == want["input_ids"][0].tolist()
    fps = get_profile(_folder(tmp_path / "fps", tok_path, fps=1.0))
    assert fps.video_num_frames is None and sampling_for(fps).method == "fps"


@pytest.mark.parametrize(
    ("video", "problem"),
    [
        ({"size": {"height": 336, "width": 336}}, "size"),
        ({"size": {"shortest_edge": 384}}, "size"),
        ({"image_mean": [0.5, 0.5, 0.5]}, "image_mean"),
        ({"resample": 2}, "resample"),
        ({"do_center_crop": True, "crop_size": {"height": 300, "width": 300}}, "do_center_crop"),
        ({"num_frames": 8, "fps": 2.0}, "mutually exclusive"),
    ],
)
def test_model_folder_refuses_video_settings_it_does_not_implement(tmp_path, tok_path, video,
                                                                   problem):  # fmt: skip
    folder = _folder(tmp_path, tok_path)
    config = json.loads((folder / "processor_config.json").read_text())
    config["video_processor"].update(video)
    (folder / "processor_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=rf"processor_config.json \(video_processor\).*{problem}"):
        get_profile(folder)


def test_a_parts_fps_samples_as_the_processor_with_fps(processor, tok_path, clip):
    """``fps`` on a video part replaces the uniform default: equal to the processor called
    with ``do_sample_frames=True, fps=…`` on the whole clip."""
    text = "user <video> ok"
    request = _request(text, {"type": "video", "path": str(clip), "fps": 1.5})
    plan = plan_sequence(request, OV, hf_tokenizer(tok_path))
    meta = VideoMetadata(total_num_frames=40, fps=10.0, duration=4.0)
    frames = decode_frames(clip, list(range(40)))
    with vl.torchvision_stand_in():
        want = processor(text=text, videos=[frames], video_metadata=[meta],
                         do_sample_frames=True, fps=1.5, return_tensors="np")  # fmt: skip
    assert plan.items[0].selection.indices == (0, 6, 13, 20, 26, 33)
    assert plan.input_ids.tolist() == want["input_ids"][0].tolist()
