"""Videos as one image view per frame — InternVL3 (``FrameN: <img>…</img>``) and SmolVLM2
(intro line, ``Frame from MM:SS:`` + a fenced ``<global-img>`` view per frame): sampled
indices, token ids and counts equal transformers 5.24's ``InternVLProcessor`` /
``SmolVLMProcessor`` with their video processors (on the torchvision stand-in of
:mod:`tests.parity.frame_video_references`), on drawn clip lengths, rates and sizes, from the
header-only plan. Video pixels are not compared (the stand-in's are not torchvision's).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from num2words import num2words
from transformers.video_utils import VideoMetadata

from mmtok.errors import UnsupportedMediaError
from mmtok.fusion.layout import media_token_ids, video_segment
from mmtok.fusion.plan import count_request, plan_sequence
from mmtok.fusion.tensors import encode
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from mmtok.video.plan import plan_video
from mmtok.video.sampling import fps_indices, sampling_for
from mmtok.video.timestamps import number_words
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import frame_video_references as fv
from tests.parity import tiling_references as tr

FAMILIES = ("internvl3", "smolvlm")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("frame-video")
    ivl = fv.write_tokenizer(root / "internvl.json", tr.INTERNVL_SPECIALS)
    smol = fv.write_tokenizer(root / "smolvlm.json", (*tr.SMOLVLM_SPECIALS, "<video>"))
    return {
        "internvl3": (fv.internvl_processor(ivl), ivl),
        "smolvlm": (fv.smolvlm_processor(smol), smol),
    }


def _reference_kwargs(name: str, total: int, video_fps: float, sampling, ours) -> dict:
    """The processor call that asks for mmtok's frames: SmolVLM's own fps and cap;
    InternVL's fps where its unbounded count ``⌊duration · fps⌋`` is within mmtok's bounds,
    else the count mmtok chose (the reference has no bounds)."""
    if name == "smolvlm":
        return {"fps": sampling.fps, "num_frames": sampling.max_frames}
    n = int(total / video_fps * sampling.fps)
    if sampling.min_frames <= n <= min(sampling.max_frames, total):
        return {"fps": sampling.fps}
    return {"num_frames": len(ours)}


def check(setup, name, total, video_fps, w, h, fps, max_frames) -> None:
    """One clip shape through the processor and through mmtok's plan and layout."""
    processor, tokfile = setup[name]
    profile = get_profile(name)
    if max_frames is not None:
        profile = profile.with_options(video_max_frames=max_frames)
    sampling = sampling_for(profile, fps=fps)
    ours = fps_indices(total, video_fps, sampling)
    meta = VideoMetadata(total_num_frames=total, fps=video_fps, duration=total / video_fps)
    kwargs = _reference_kwargs(name, total, video_fps, sampling, ours)
    assert ours.tolist() == list(processor.video_processor.sample_frames(meta, **kwargs))
    if len(ours) < 2:  # the reference cannot process one sampled frame (a 3-D array)
        return

    frames = np.zeros((total, h, w, 3), dtype=np.uint8)
    with fv.torchvision_stand_in():
        out = processor(text=["Describe <video> now"], videos=[frames], video_metadata=[meta],
                        do_sample_frames=True, return_tensors="pt", **kwargs)  # fmt: skip
    tok = hf_tokenizer(tokfile)
    plan = plan_video(profile, h, w, ours, total, video_fps,
                      timestamp_tokens=lambda s: len(tok.encode(s)))  # fmt: skip
    ids = media_token_ids(profile.tokens, tok.token_id, ["video"])
    stamps = [tok.encode(t) if t else [] for t in plan.timestamp_texts]
    segment = video_segment(plan.grid[0], plan.frame_tokens, ids, 0, stamps)
    assert len(segment.ids) == plan.tokens + plan.fence_tokens
    before, after = plan.edge_texts
    want = tok.encode("Describe " + before) + segment.ids.tolist() + tok.encode(after + " now")
    assert want == out["input_ids"][0].tolist()
    n, side = len(ours), profile.video_size[0]
    shape = (n, 3, side, side) if name == "internvl3" else (1, n, 3, side, side)
    assert out["pixel_values"].shape == shape
    assert plan.grid == (n, side // profile.patch_size, side // profile.patch_size)


clips = st.tuples(
    st.sampled_from(FAMILIES),
    st.integers(2, 400),  # frames (a 1-frame array is an image to transformers)
    st.sampled_from([1.0, 5.0, 24.0, 29.97, 30.0, 60.0]),  # frames per second
    st.integers(8, 200),  # width
    st.integers(8, 200),  # height
    st.sampled_from([None, 0.5, 1.0, 2.0, 3.0]),  # --fps (None: the profile's 1)
    st.sampled_from([None, 1, 4, 16, 64]),  # --max-frames (None: the profile's)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=clips)
def test_video_equals_processor(setup, case) -> None:
    check(setup, *case)


@pytest.mark.parametrize(
    "case",
    [
        ("smolvlm", 3000, 25.0, 64, 48, None, None),  # 2 min: 64 frames, 1 s skipped each end
        ("smolvlm", 7, 2.0, 30, 90, None, None),  # 3.5 s: round(3.5) = 4 frames
        ("internvl3", 250, 25.0, 96, 40, None, None),  # 10 s: 8 frames, one per 1.25 s
        ("internvl3", 17, 30.0, 40, 96, 2.0, None),  # 0.57 s: one frame
    ],
)
def test_edge_clips(setup, case) -> None:
    check(setup, *case)


def test_frame_count_words_equal_num2words() -> None:
    """SmolVLM's intro writes the frame count with ``num2words``; mmtok writes it itself."""
    for n in [*range(0, 2500), 10_001, 123_456, 1_000_100, 2_000_000_005]:
        assert number_words(n) == num2words(n)


@pytest.mark.parametrize("name", FAMILIES)
def test_whole_request_equals_processor(setup, tmp_path, name) -> None:
    """An MP4 and a PNG through ``plan_sequence`` (headers only): ids equal the processor's
    on the same request, the clip's frames handed to it as arrays; ``count_request`` agrees;
    loading the video's pixels is refused (not implemented)."""
    from tests.parity.fusion_references import write_video

    processor, tokfile = setup[name]
    tok = hf_tokenizer(tokfile)
    path = tmp_path / "clip.mp4"
    write_video(path, 23, (96, 64), 5)
    image = random_image(700, 300, seed=4)
    request = {
        "prompt": "Look <image> then <video> what?",
        "media": [{"type": "image", "data": encode_image(image, "PNG")},
                  {"type": "video", "path": str(path)}],
    }  # fmt: skip
    plan = plan_sequence(request, name, tok)
    meta = VideoMetadata(total_num_frames=23, fps=5.0, duration=23 / 5)
    placeholder = "<IMG_CONTEXT>" if name == "internvl3" else "<image>"
    sampling = sampling_for(get_profile(name))
    kwargs = _reference_kwargs(name, 23, 5.0, sampling, fps_indices(23, 5.0, sampling))
    with fv.torchvision_stand_in():
        out = processor(text=[f"Look {placeholder} then <video> what?"], images=[image],
                        videos=[np.zeros((23, 64, 96, 3), np.uint8)], video_metadata=[meta],
                        do_sample_frames=True, return_tensors="pt", **kwargs)  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    assert count_request(request, name, tok).total == len(plan.input_ids)
    with pytest.raises(UnsupportedMediaError, match="video pixels"):
        encode(request, name, tok)


def test_folders_read_video_settings(setup, tmp_path) -> None:
    """``--profile FOLDER`` with the video processors saved beside the image ones: SmolVLM2's
    ``video_sampling`` (fps, frame cap) read, frames at the tile size; a frame size other
    than the tile refused naming the file; the folder's clip plans as the processor's."""
    from mmtok.errors import ConfigError

    tok = fv.write_tokenizer(tmp_path / "smol.json", (*tr.SMOLVLM_SPECIALS, "<video>"))
    folder = tr.split_folder(tmp_path / "smol", tok, smol=True)
    fv.smolvlm_processor(tok, video_sampling={"fps": 2, "max_frames": 16,
                                              "video_size": {"longest_edge": 384}}
                         ).video_processor.save_pretrained(folder)  # fmt: skip
    profile = get_profile(folder)
    assert (profile.video_fps, profile.video_max_frames, profile.video_size) == (
        2.0,
        16,
        (384,) * 2,
    )
    ivl = tr.internvl_folder(tmp_path / "ivl", setup["internvl3"][1])
    fv.internvl_processor(setup["internvl3"][1]).video_processor.save_pretrained(ivl)
    assert get_profile(ivl).video_size == (448, 448)
    fv.internvl_processor(setup["internvl3"][1], size={"height": 384, "width": 384}
                          ).video_processor.save_pretrained(ivl)  # fmt: skip
    with pytest.raises(ConfigError, match=r"video_preprocessor_config\.json: video frames of 384"):
        get_profile(ivl)
