"""Qwen2.5-Omni against transformers 5.24, run here: input ids against ``Qwen2_5OmniProcessor``
(``load_audio_from_video=True`` for ``use_audio_in_video``, each video's audio track handed
to it decoded, as ``audio_from_video_indices`` allows), position ids against
``get_rope_index`` of a tiny random thinker, and the model inputs through its ``forward``.

Videos with their audio tracks: tracks shorter and longer than the video, 44.1 kHz stereo,
requested frame rates whose temporal patches fall on, between and across the 2 s chunks;
plain videos whose sampled rate differs from the requested one (the processor's
``video_second_per_grid = T / fps``); a whole request with an image, a standalone audio clip
and a video with its audio. Video pixels are not compared (see ``vl_references``).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.audio.load import load_audio
from mmtok.fusion.layout import tick_chunks
from mmtok.fusion.plan import plan_sequence
from mmtok.fusion.tensors import load
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import load_tokenizer
from tests.images import encode, random_image
from tests.media_factory import speechlike, tone, write_sound, write_video_with_audio
from tests.parity import omni_references as omni
from tests.parity import vl_references as ref

OMNI = get_profile("qwen2.5-omni")


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ref.write_tokenizer(tmp_path_factory.mktemp("omni") / "tokenizer.json",
                               omni.OMNI_SPECIALS)  # fmt: skip


def _reference(tokenizer_file: Path, text: str, *, use_audio: bool, fps: float | None = None,
               **media: object) -> tuple[dict, np.ndarray, int]:  # fmt: skip
    """The processor's output (torch) and the thinker's positions ``(3, L)`` and delta."""
    processor = omni.omni_processor(tokenizer_file)
    kwargs: dict = {"videos_kwargs": {"fps": fps}} if fps is not None else {}
    with ref.torchvision_stand_in():
        out = processor(text=[text], load_audio_from_video=use_audio, return_tensors="pt",
                        **media, **kwargs)  # fmt: skip
    lengths = out["feature_attention_mask"].sum(-1) if "feature_attention_mask" in out else None
    model = omni.omni_thinker(tokenizer_file)
    pos, delta = model.get_rope_index(
        out["input_ids"], out.get("image_grid_thw"), out.get("video_grid_thw"),
        out["attention_mask"], use_audio, lengths, out.get("video_second_per_grid"),
    )  # fmt: skip
    return dict(out), pos[:, 0].numpy(), int(delta[0, 0])


def _frames(plan, index: int) -> np.ndarray:
    """Blank frames, as many as mmtok samples from the video item ``index`` (ids and
    positions depend on the count and size only)."""
    videos = [it for it in plan.items if it.kind == "video"]
    selection = videos[index].selection
    return np.zeros((len(selection.indices), 48, 64, 3), np.uint8)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(0, 120), min_size=1, max_size=60),
    per_chunk=st.integers(1, 80),
    scale=st.sampled_from([1.0, 0.37, 2.5]),
)
def test_chunk_rule_equals_processor_and_model(tokenizer_file, steps, per_chunk, scale) -> None:
    """Non-decreasing ticks (ties, jumps over several chunks, a first tick past the first
    boundary) cut as the processor cuts them (float ticks) and as the model does (ints)."""
    ticks = np.cumsum(steps) * scale
    processor = omni.omni_processor(tokenizer_file)
    assert tick_chunks(ticks, per_chunk) == processor.get_chunked_index(ticks, per_chunk)
    model = omni.omni_thinker(tokenizer_file)
    ints = torch.from_numpy(ticks.astype(np.int64))
    want = model.get_chunked_index(ints + 7, per_chunk, 7)
    assert tick_chunks(ints.numpy(), per_chunk) == [(int(a), int(b)) for a, b in want]


# (video seconds, audio seconds, audio rate, channels, fps asked for)
TRACKS = [
    (5.0, 3.3, 16_000, 1, None),  # the track ends first: the video's last chunks alone
    (3.0, 7.1, 16_000, 1, None),  # the track outlasts the video: audio chunks alone at the end
    (5.0, 5.0, 44_100, 2, 3.0),  # 2/3 s per temporal patch: patches across chunk boundaries
    (5.0, 5.0, 16_000, 1, 0.5),  # 4 s per patch: one patch spans two chunks
    (1.0, 1.0, 16_000, 1, None),  # 4 frames sampled from 30: two temporal patches, 1 s each
]


@pytest.mark.parametrize("case", TRACKS, ids=lambda c: f"{c}")
def test_video_with_its_audio_equals_processor_and_rope_index(
    tokenizer_file: Path, tmp_path: Path, case: tuple
) -> None:
    seconds, audio_seconds, rate, channels, fps = case
    track = (
        speechlike(audio_seconds, rate)[:, None]
        if channels == 1
        else tone(audio_seconds, rate, 330, 2)
    )
    path = write_video_with_audio(tmp_path / "clip.mp4", seconds, track, rate)
    part = {"type": "video", "path": str(path), "use_audio_in_video": True}
    if fps is not None:
        part["fps"] = fps
    tok = load_tokenizer(tokenizer_file)
    plan = plan_sequence({"prompt": "look <video> now", "media": [part]}, OMNI, tok)
    samples = load_audio(path)
    text = "look <|vision_bos|><|VIDEO|><|vision_eos|> now"
    out, want, delta = _reference(tokenizer_file, text, use_audio=True, fps=fps,
                                  videos=[_frames(plan, 0)], audio=[samples],
                                  audio_from_video_indices=[0])  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    assert plan.video_grid_thw.tolist() == out["video_grid_thw"].tolist()
    assert plan.second_per_grid_ts.tolist() == out["video_second_per_grid"].tolist()
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta

    encoded = load(plan)
    (features,) = encoded.audios
    np.testing.assert_array_equal(features.feature_attention_mask, out["feature_attention_mask"])
    np.testing.assert_allclose(features.input_features, out["input_features"], atol=1e-4)
    inputs = encoded.to_model_inputs()
    _check_forward(tokenizer_file, inputs, out)


def _check_forward(tokenizer_file: Path, inputs, out: dict) -> None:
    """mmtok's model inputs are exactly keys the thinker's ``forward`` takes (the processor's
    keys plus positions), it runs on them, and its own positions give the same logits."""
    model = omni.omni_thinker(tokenizer_file)
    taken = set(inspect.signature(model.forward).parameters)
    assert set(inputs) <= taken
    assert set(inputs) - {"position_ids", "use_audio_in_video"} == set(out)
    with torch.no_grad():
        ours = model(**inputs).logits
        own = model(**{k: v for k, v in inputs.items() if k != "position_ids"}).logits
    torch.testing.assert_close(ours, own)


@pytest.mark.parametrize("seconds", [1.0, 2.5, 4.0])
def test_plain_video_uses_seconds_per_patch_asked_for(
    tokenizer_file: Path, tmp_path: Path, seconds: float
) -> None:
    """Without its audio: 1 s → 4 frames (sampled at 4 fps), 2.5 s → 4 frames (1.6 fps);
    the processor still writes ``video_second_per_grid = 2 / 2``."""
    path = write_video_with_audio(tmp_path / "clip.mp4", seconds, tone(seconds), 16_000)
    tok = load_tokenizer(tokenizer_file)
    plan = plan_sequence({"prompt": "a <video> b", "media": [{"type": "video", "path": str(path)}]},
                         OMNI, tok)  # fmt: skip
    text = "a <|vision_bos|><|VIDEO|><|vision_eos|> b"
    out, want, delta = _reference(tokenizer_file, text, use_audio=False,
                                  videos=[_frames(plan, 0)])  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    assert plan.second_per_grid_ts.tolist() == out["video_second_per_grid"].tolist() == [1.0]
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta
    _check_forward(tokenizer_file, load(plan).to_model_inputs(), out)


def test_whole_request_with_image_audio_and_a_video_with_its_audio(
    tokenizer_file: Path, tmp_path: Path
) -> None:
    image = random_image(120, 90, seed=3)
    speech = write_sound(tmp_path / "speech.wav", speechlike(2.3, 16_000)[:, None], 16_000)
    video = write_video_with_audio(tmp_path / "clip.mp4", 4.0, speechlike(4.4, 16_000)[:, None],
                                   16_000)  # fmt: skip
    request = {
        "prompt": "a <image> b <audio> c <video> d",
        "media": [
            {"type": "image", "data": encode(image, "PNG")},
            {"type": "audio", "path": str(speech)},
            {"type": "video", "path": str(video), "use_audio_in_video": True},
        ],
    }
    plan = plan_sequence(request, OMNI, load_tokenizer(tokenizer_file))
    text = ("a <|vision_bos|><|IMAGE|><|vision_eos|> b <|audio_bos|><|AUDIO|><|audio_eos|> c "
            "<|vision_bos|><|VIDEO|><|vision_eos|> d")  # fmt: skip
    out, want, delta = _reference(
        tokenizer_file, text, use_audio=True, images=[image], videos=[_frames(plan, 0)],
        audio=[load_audio(speech), load_audio(video)], audio_from_video_indices=[None, 0],
    )  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta
    encoded = load(plan)
    mask = np.concatenate([a.feature_attention_mask for a in encoded.audios])
    np.testing.assert_array_equal(mask, out["feature_attention_mask"])
    _check_forward(tokenizer_file, encoded.to_model_inputs(), out)


def _omni_folder(tokenizer_file: Path, folder: Path) -> Path:
    """``save_pretrained`` of the processor and of the thinker's config."""
    return ref.write_folder(folder, omni.omni_processor(tokenizer_file),
                            omni.omni_thinker(tokenizer_file).config)  # fmt: skip


def test_model_folder_equals_processor(tokenizer_file: Path, tmp_path: Path) -> None:
    """``--profile FOLDER``: the folder's rules are the released ones (300 s audio window,
    25 positions per second, 2 s chunks), and a video with its audio through the folder's own
    tokenizer equals the processor."""
    folder = _omni_folder(tokenizer_file, tmp_path / "omni")
    profile = get_profile(folder)
    for name in ("audio_encoder", "tokens", "tokens_per_second", "audio_in_video_chunk",
                 "video_min_pixels", "video_max_pixels", "resize", "input_names"):  # fmt: skip
        assert getattr(profile, name) == getattr(OMNI, name), name
    path = write_video_with_audio(tmp_path / "clip.mp4", 3.0, speechlike(2.2, 16_000)[:, None],
                                  16_000)  # fmt: skip
    part = {"type": "video", "path": str(path), "use_audio_in_video": True}
    plan = plan_sequence({"prompt": "a <video>", "media": [part]}, folder)
    text = "a <|vision_bos|><|VIDEO|><|vision_eos|>"
    media = {"videos": [_frames(plan, 0)], "audio": [load_audio(path)]}
    out, want, delta = _reference(
        tokenizer_file, text, use_audio=True, audio_from_video_indices=[0], **media
    )
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta


@pytest.mark.parametrize(
    ("file", "edit", "needle"),
    [
        (
            "processor_config.json",
            lambda d: d["video_processor"].update(
                size={"shortest_edge": 3136, "longest_edge": 602112}
            ),
            "video size",
        ),
        ("processor_config.json", lambda d: d["feature_extractor"].update(dither=1.0), "dither"),
        ("config.json", lambda d: d.update(seconds_per_chunk=1), "seconds_per_chunk"),
    ],
)
def test_a_folder_omni_would_read_otherwise_is_refused(tokenizer_file, tmp_path, file, edit,
                                                        needle) -> None:  # fmt: skip
    from mmtok.errors import ConfigError

    folder = _omni_folder(tokenizer_file, tmp_path / "omni")
    data = json.loads((folder / file).read_text())
    edit(data)
    (folder / file).write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=needle):
        get_profile(folder)
