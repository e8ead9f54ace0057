"""GLM-4.1V / GLM-4.5V against transformers 5.24: ``Glm4vProcessor`` (``Glm4vImageProcessorPil``
with the published image limits, ``Glm4vVideoProcessor``'s defaults under the torchvision
stand-in of ``vl_references``) and ``Glm4vModel.get_rope_index`` of a tiny random model.

Images (drawn sizes, tiny ones included: GLM scales sides under 28 pixels up): input ids,
``mm_token_type_ids``, grids, pixels (≤ 1e-5) and position ids. Videos (drawn frame counts,
rates, sizes and ``fps``, clips past the 300-second span included): sampled frames, grids,
the per-patch whole-second texts, input ids and position ids from mmtok's header-only plan.
Video pixels are not compared (see ``vl_references``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.video_utils import VideoMetadata

from mmtok.fusion.layout import media_token_ids, video_segment
from mmtok.fusion.plan import plan_sequence, positions
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import load_tokenizer
from mmtok.video.plan import plan_video
from mmtok.video.sampling import fps_indices, sampling_for
from tests.images import encode, random_image
from tests.parity import vl_references as ref

GLM = get_profile("glm4v")


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    return ref.write_tokenizer(tmp_path_factory.mktemp("glm") / "tokenizer.json",
                               ref.GLM_SPECIALS)  # fmt: skip


def _rope(processor, out):
    tok = processor.tokenizer
    ids = {
        "image_token_id": tok.convert_tokens_to_ids("<|image|>"),
        "video_token_id": tok.convert_tokens_to_ids("<|video|>"),
        "image_start_token_id": tok.convert_tokens_to_ids("<|begin_of_image|>"),
        "image_end_token_id": tok.convert_tokens_to_ids("<|end_of_image|>"),
        "video_start_token_id": tok.convert_tokens_to_ids("<|begin_of_video|>"),
        "video_end_token_id": tok.convert_tokens_to_ids("<|end_of_video|>"),
    }
    grids = {k: torch.from_numpy(np.asarray(out[k])) for k in ("image_grid_thw", "video_grid_thw")
             if k in out}  # fmt: skip
    pos, delta = ref.glm4v_model(**ids).get_rope_index(
        torch.from_numpy(np.asarray(out["input_ids"])),
        mm_token_type_ids=torch.from_numpy(np.asarray(out["mm_token_type_ids"])),
        **grids,
    )
    return pos[:, 0].numpy(), int(delta[0, 0])


def test_profile_follows_the_processor_classes(tokenizer_file) -> None:
    processor = ref.glm4v_processor(tokenizer_file)
    image, videos = processor.image_processor, processor.video_processor
    assert (image.patch_size, image.merge_size, image.temporal_patch_size) == (14, 2, 2)
    assert tuple(image.image_mean) == GLM.image_mean and tuple(image.image_std) == GLM.image_std
    assert (videos.fps, videos.max_duration) == (GLM.video_fps, GLM.video_max_seconds)
    assert (videos.size.shortest_edge, videos.size.longest_edge) == (
        GLM.video_min_pixels,
        GLM.video_max_pixels,
    )


@settings(max_examples=30, deadline=None)
@given(w=st.integers(1, 600), h=st.integers(1, 600), text=st.sampled_from(["", "Look: ", "a"]))
def test_image_equals_processor(tokenizer_file, w, h, text) -> None:
    if max(w, h) / min(w, h) > 150:  # the reference checks its limit after upscaling
        return
    processor = ref.glm4v_processor(tokenizer_file)
    img = random_image(w, h, seed=w * 1000 + h)
    ref.assert_image_equals_processor(
        processor,
        GLM,
        tokenizer_file,
        img,
        text,
        "<|begin_of_image|><|image|><|end_of_image|>",
        _rope,
    )


video_case = st.tuples(
    st.integers(1, 300),  # frames in the file
    st.sampled_from([0.5, 1.0, 6.0, 12.5, 24.0, 29.97, 30.0]),  # its frame rate (0.5: > 300 s)
    st.integers(8, 300),  # width
    st.integers(8, 300),  # height
    st.sampled_from([None, 0.5, 1.0, 3.0]),  # --fps (None: the profile's 2)
)


@settings(max_examples=30, deadline=None)
@given(case=video_case)
def test_video_equals_processor(tokenizer_file, case) -> None:
    if max(case[2], case[3]) / min(case[2], case[3]) > 150:
        return
    check_video(ref.glm4v_processor(tokenizer_file), GLM, tokenizer_file, case)


def check_video(processor, profile, tokenizer_file, case) -> None:
    """One clip shape through the processor and through mmtok's plan and layout."""
    total, video_fps, w, h, fps = case
    indices = fps_indices(total, video_fps, sampling_for(profile, fps=fps))
    meta = VideoMetadata(total_num_frames=total, fps=video_fps, duration=total / video_fps)
    want_indices = processor.video_processor.sample_frames(meta, fps=fps).tolist()
    # The reference repeats the last frame to an even count; mmtok decodes each frame once and
    # repeats it as the temporal patch's padding.
    assert want_indices[: len(indices)] == indices.tolist()
    assert want_indices[len(indices) :] in ([], [int(indices[-1])])

    kwargs = {} if fps is None else {"fps": fps}
    with ref.torchvision_stand_in():
        out = processor(text=["A <|begin_of_video|><|video|><|end_of_video|> b"],
                        videos=[np.zeros((total, h, w, 3), np.uint8)], video_metadata=[meta],
                        return_tensors="np", **kwargs)  # fmt: skip

    tok = load_tokenizer(tokenizer_file)
    plan = plan_video(profile, h, w, indices, total, video_fps,
                      timestamp_tokens=lambda s: len(tok.encode(s)))  # fmt: skip
    assert [list(plan.grid)] == out["video_grid_thw"].tolist()
    ids = media_token_ids(profile.tokens, tok.token_id, ["video"])
    stamps = [tok.encode(t) for t in plan.timestamp_texts]
    segment = video_segment(plan.grid[0], plan.frame_tokens, ids, 0, stamps, stamps_after=True)
    assert len(segment.ids) == plan.tokens + plan.fence_tokens
    input_ids = np.concatenate([tok.encode("A "), segment.ids, tok.encode(" b")])
    assert input_ids.tolist() == out["input_ids"][0].tolist()
    n_a, n_b = len(tok.encode("A ")), len(tok.encode(" b"))
    mods = np.concatenate([np.zeros(n_a, np.int8), segment.modality, np.zeros(n_b, np.int8)])
    assert np.where(mods <= 2, mods, 0).tolist() == out["mm_token_type_ids"][0].tolist()
    pos, delta = positions(mods, np.zeros((0, 3), np.int64), np.array([plan.grid]),
                           np.array([plan.seconds_per_grid], np.float32), profile)  # fmt: skip
    want, want_delta = _rope(processor, out)
    assert pos.tolist() == want.tolist()
    assert delta == want_delta


def test_whole_request_with_images_and_a_video(tokenizer_file, tmp_path) -> None:
    """A real MP4 and PNGs through ``plan_sequence`` (header-only): ids and positions equal the
    processor's on the same request, the clip's frames handed to it as arrays."""
    fences = (
        "<|begin_of_image|><|image|><|end_of_image|>",
        "<|begin_of_video|><|video|><|end_of_video|>",
    )
    processor = ref.glm4v_processor(tokenizer_file)
    ref.assert_request_equals_processor(
        processor, GLM, tokenizer_file, tmp_path, (13, 4), 20, fences, _rope
    )


def test_model_folder_equals_processor(tokenizer_file, tmp_path) -> None:
    """``--profile FOLDER`` for a folder written by ``save_pretrained`` (its own tokenizer, a
    changed span and rate): images and videos as the processor gives them."""
    from typer.testing import CliRunner

    import mmtok.cli.count  # noqa: F401  (registers the command)
    from mmtok.cli.app import app

    processor = ref.glm4v_processor(tokenizer_file)
    processor.video_processor.max_duration = 20
    processor.video_processor.fps = 3
    processor.image_processor.size = {"shortest_edge": 4096, "longest_edge": 200_000}
    folder = ref.write_folder(tmp_path / "glm", processor, ref.glm4v_model().config)
    profile = get_profile(folder)
    assert (profile.video_max_seconds, profile.video_fps) == (20.0, 3.0)
    img = random_image(333, 101, seed=5)
    plan = plan_sequence(
        {"prompt": "a <image>", "media": [{"type": "image", "data": encode(img, "PNG")}]}, folder
    )
    out = processor(text=["a <|begin_of_image|><|image|><|end_of_image|>"], images=[img],
                    return_tensors="np")  # fmt: skip
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    for case in [(90, 30.0, 320, 180, None), (7, 2.0, 640, 64, 1.0), (900, 25.0, 128, 72, None)]:
        check_video(processor, profile, tokenizer_file, case)
    path = tmp_path / "a.png"
    img.save(path)
    result = CliRunner().invoke(app, ["count", "--profile", str(folder), "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert f'"tokens": {int(out["image_grid_thw"].prod()) // 4}' in result.output


def test_readme_example_equals_processor(tokenizer_file) -> None:
    """A 1000×700 image: the README's example row (900 tokens)."""
    img = random_image(1000, 700, seed=3)
    out = ref.glm4v_processor(tokenizer_file)(
        text=["<|begin_of_image|><|image|><|end_of_image|>"], images=[img], return_tensors="np"
    )
    plan = GLM.plan_image(700, 1000)
    assert list(plan.grid) == out["image_grid_thw"][0].tolist()
    assert plan.tokens == int(out["image_grid_thw"].prod()) // 4
