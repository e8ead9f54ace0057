"""``--profile FOLDER`` for Gemma 3, LLaVA-OneVision and Llama 4 against transformers 5.24.

Each folder is written by transformers itself: the processor's ``save_pretrained`` (one
``processor_config.json`` with the image processor nested) or, as the published checkpoints
ship them, the image processor's own ``preprocessor_config.json`` beside the processor's keys,
plus the model's ``config.json``. The processor that wrote the folder is the reference: its
``input_ids`` for drawn image sizes must equal the sequence mmtok plans from the folder alone.
Llama 4's image processor runs on the torchvision stand-in of
:mod:`tests.parity.wave2_references` (exact shapes; see there).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import Gemma3Config, Llama4Config, LlavaOnevisionConfig

from mmtok.errors import ConfigError
from mmtok.fusion.plan import plan_sequence
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import wave2_references as w2
from tests.parity.vl_references import _no_class_check

sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 3000)),
    st.tuples(st.integers(200, 3000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 2000), st.integers(64, 2000)),
)
_EXAMPLES = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write(folder: Path, processor, config) -> Path:
    with _no_class_check():
        processor.save_pretrained(folder)
    config.save_pretrained(folder)
    return folder


def _split(folder: Path) -> Path:
    """The published layout: the nested image processor dict as ``preprocessor_config.json``."""
    proc = json.loads((folder / "processor_config.json").read_text())
    image = proc.pop("image_processor")
    (folder / "preprocessor_config.json").write_text(json.dumps(image))
    (folder / "processor_config.json").write_text(json.dumps(proc))
    return folder


def _edit(folder: Path, key: str, value, nested: str | None = "image_processor") -> None:
    path = folder / "processor_config.json"
    data = json.loads(path.read_text())
    (data[nested] if nested else data)[key] = value
    path.write_text(json.dumps(data))


def _ids_equal(processor, folder: Path, hw, placeholder: str, tensors="np", **call) -> None:
    images = [random_image(w, h, seed=i + h) for i, (h, w) in enumerate(hw)]
    text = "user\n" + " and ".join([placeholder] * len(images)) + "\nwhat?"
    want = processor(text=text, images=images, return_tensors=tensors, **call)
    request = {
        "prompt": text.replace(placeholder, "<image>"),
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }
    got = plan_sequence(request, get_profile(folder), hf_tokenizer(folder / "tokenizer.json"))
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()


# --- Gemma 3 ----------------------------------------------------------------------------------


def _gemma3(tmp: Path, *, seq: int = 256, **image: object):
    from transformers.models.gemma3.processing_gemma3 import Gemma3Processor

    proc = w2.gemma3_processor(w2.write_tokenizer(tmp / "tok.json", w2.GEMMA_SPECIALS), **image)
    return Gemma3Processor(proc.image_processor, proc.tokenizer, image_seq_length=seq)


@pytest.fixture(scope="module")
def gemma_folders(tmp_path_factory):
    """gemma-3-4b-it as published (split files, pan-and-scan off); the same with
    ``do_pan_and_scan: true``; a 448² variant with 64 soft tokens per view."""
    out = []
    for name, seq, image in (
        ("published", 256, {}),
        ("pan_and_scan", 256, {"do_pan_and_scan": True}),
        ("448", 64, {"size": {"height": 448, "width": 448}}),
    ):
        tmp = tmp_path_factory.mktemp(f"gemma3-{name}")
        proc = _gemma3(tmp, seq=seq, **image)
        folder = _write(tmp / "model", proc, Gemma3Config())
        folder = _split(folder) if name == "published" else folder
        out.append((folder, proc, bool(image.get("do_pan_and_scan"))))
    return out


@_EXAMPLES
@given(hw=st.lists(sizes, min_size=1, max_size=2), which=st.integers(0, 2))
def test_gemma3_folder_ids_equal_processor(gemma_folders, hw, which):
    folder, proc, pas = gemma_folders[which]
    _ids_equal(proc, folder, hw, "<start_of_image>", do_pan_and_scan=pas)


def test_gemma3_folder_reads_its_settings(gemma_folders):
    published, pas, small = (get_profile(f) for f, _, _ in gemma_folders)
    assert not published.resize.enabled and pas.resize.enabled
    assert (small.resize.size, small.merge_size) == (448, 4)  # 32×32 patches → 8×8 soft tokens
    assert small.plan_image(700, 1000).feature_tokens == 64


# --- LLaVA-OneVision --------------------------------------------------------------------------


def _onevision(tmp: Path, processor_keys: dict, **image: object):
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )
    from transformers.models.llava_onevision.processing_llava_onevision import (
        LlavaOnevisionProcessor,
    )

    video = importlib.import_module(
        "transformers.models.llava_onevision.video_processing_llava_onevision"
    ).LlavaOnevisionVideoProcessor()
    tok = w2.hf_tokenizer(w2.write_tokenizer(tmp / "tok.json", w2.ONEVISION_SPECIALS))
    keys = {"num_image_tokens": 729, "vision_feature_select_strategy": "full", **processor_keys}
    with _no_class_check():
        return LlavaOnevisionProcessor(LlavaOnevisionImageProcessorPil(**image), tok, video, **keys)


@pytest.fixture(scope="module")
def onevision_folders(tmp_path_factory):
    """llava-onevision-qwen2-7b-ov-hf's settings; a variant with 4 pinpoints, the
    ``anyres_max_4`` cap and the ``default`` (CLS-dropping) feature selection."""
    out = []
    small = [[384, 384], [384, 768], [768, 384], [768, 768], [1152, 384]]
    for name, keys, image in (
        ("ov", {}, {}),
        ("small", {"vision_aspect_ratio": "anyres_max_4",
                   "vision_feature_select_strategy": "default"},
         {"image_grid_pinpoints": small}),
    ):  # fmt: skip
        tmp = tmp_path_factory.mktemp(f"onevision-{name}")
        proc = _onevision(tmp, keys, **image)
        out.append((_write(tmp / "model", proc, LlavaOnevisionConfig()), proc))
    return out


@_EXAMPLES
@given(hw=sizes, which=st.integers(0, 1))
def test_onevision_folder_ids_equal_processor(onevision_folders, hw, which):
    folder, proc = onevision_folders[which]
    _ids_equal(proc, folder, [hw], "<image>")
    want = proc._get_num_multimodal_tokens(image_sizes=[hw])["num_image_tokens"][0]
    assert get_profile(folder).plan_image(*hw).tokens == want


# --- Llama 4 ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama4_folders(tmp_path_factory):
    """Llama-4-Scout's settings; a variant with at most 4 tiles and ``resize_to_max_canvas``."""
    from transformers.models.llama4.processing_llama4 import Llama4Processor

    out = []
    for name, image in (("scout", {}), ("four", {"max_patches": 4, "resize_to_max_canvas": True})):
        tmp = tmp_path_factory.mktemp(f"llama4-{name}")
        tok = w2.hf_tokenizer(w2.write_tokenizer(tmp / "tok.json", w2.LLAMA4_SPECIALS))
        with _no_class_check():
            proc = Llama4Processor(w2.llama4_image_processor(**image), tok)
        config = Llama4Config(vision_config={"patch_size": 14, "image_size": 336})
        out.append((_write(tmp / "model", proc, config), proc))
    return out


@_EXAMPLES
@given(hw=st.lists(sizes, min_size=1, max_size=2), which=st.integers(0, 1))
def test_llama4_folder_ids_equal_processor(llama4_folders, hw, which):
    folder, proc = llama4_folders[which]
    _ids_equal(proc, folder, hw, "<|image|>", "pt")  # bfloat16 pixels: no numpy


def test_llama4_folder_reads_its_settings(llama4_folders):
    scout, four = (get_profile(f) for f, _ in llama4_folders)
    assert (scout.resize.max_tiles, scout.resize.to_max, scout.merge_size) == (16, False, 2)
    assert (four.resize.max_tiles, four.resize.to_max) == (4, True)


# --- refusals: the file and the key named -----------------------------------------------------


@pytest.mark.parametrize(
    ("family", "key", "value", "nested"),
    [
        ("gemma3", "pan_and_scan_min_crop_size", 512, "image_processor"),
        ("gemma3", "resample", 3, "image_processor"),
        ("gemma3", "image_seq_length", 200, None),
        ("onevision", "vision_aspect_ratio", "anyres", None),
        ("onevision", "num_image_tokens", 576, None),
        ("onevision", "crop_size", {"height": 336, "width": 336}, "image_processor"),
        ("llama4", "patch_token", "<patch>", None),
        ("llama4", "pixel_shuffle_ratio", 0.3, None),
        ("llama4", "do_normalize", False, "image_processor"),
    ],
)
def test_unimplemented_settings_are_refused(
    gemma_folders, onevision_folders, llama4_folders, tmp_path, family, key, value, nested
):
    source = {"gemma3": gemma_folders[1], "onevision": onevision_folders[0],
              "llama4": llama4_folders[0]}[family][0]  # fmt: skip
    folder = tmp_path / "copy"
    folder.mkdir()
    for f in ("processor_config.json", "config.json"):
        (folder / f).write_text((source / f).read_text())
    _edit(folder, key, value, nested)
    with pytest.raises(ConfigError, match=rf"processor_config\.json.*{key}"):
        get_profile(folder)


def test_model_type_alone_picks_the_family(tmp_path):
    for config, family in (
        (Gemma3Config(vision_config={"patch_size": 14, "image_size": 896}), "gemma3"),
        (LlavaOnevisionConfig(), "llava-onevision"),
        (Llama4Config(vision_config={"patch_size": 14, "image_size": 336}), "llama4"),
    ):
        folder = tmp_path / family
        config.save_pretrained(folder)
        profile = get_profile(folder)
        assert profile.name == f"{family}@{family}"
        base = get_profile(family)
        assert profile.plan_image(700, 1000) == base.plan_image(700, 1000)
