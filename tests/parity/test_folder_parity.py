"""``--profile FOLDER`` against transformers 5.24's processors on the same folder.

Each folder is written by transformers itself — the processor's ``save_pretrained`` (since
transformers 5: one ``processor_config.json`` with the image processor nested) or, as the
published checkpoints ship them, the image processor's own ``preprocessor_config.json`` beside
a ``processor_config.json`` of the processor's keys — plus the model's ``config.json``. Settings
follow published checkpoints: llava-1.5 (CLIP-336, CLS dropped), llava-interleave-qwen (SigLIP
384, no crop: the misread 336/576), pixtral-12b as transformers ships it (``model_type: llava``
with ``PixtralImageProcessor``: the misread as LLaVA-1.5), Mistral-Small-3.1 (patch 14, merge 2,
1540), Qwen2.5-VL (its 12.8 M pixel cap). Sizes are hypothesis-drawn; the processor's
``input_ids`` give the expansion (``tokens``) and its image-token count (``feature_tokens``);
pixels are compared with the PIL-backend image processor (≤ 1e-5).

``PixtralProcessor`` is decorated as needing torchvision and its module imports torchvision's
``transforms.v2.functional`` at the top; torchvision cannot be installed beside the CPU torch
here. Empty stand-in modules are placed in ``sys.modules`` for that one import only: with the
PIL image processor no torchvision function is ever called (only its name is imported), so no
shape or value comes from the stand-in.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from functools import cache
from pathlib import Path

import numpy as np
import pytest

# Imported before the stand-in torchvision exists, so they cache "no torchvision".
import transformers.image_processing_utils
import transformers.processing_utils  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import (
    LlavaConfig,
    LlavaNextProcessor,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.llava_next.image_processing_pil_llava_next import (
    LlavaNextImageProcessorPil,
)
from transformers.models.pixtral.image_processing_pil_pixtral import PixtralImageProcessorPil
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

from mmtok.count import count_file
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from tests.images import encode, random_image

_STUBS = (
    "torchvision",
    "torchvision.transforms",
    "torchvision.transforms.v2",
    "torchvision.transforms.v2.functional",
)
_TOKENS = ["<image>", "[IMG]", "[IMG_BREAK]", "[IMG_END]", "<|image_pad|>", "<|video_pad|>"]


@cache
def pixtral_processor_class() -> type:
    name = "transformers.models.pixtral.processing_pixtral"
    if "torchvision" in sys.modules or name in sys.modules:
        return importlib.import_module(name).PixtralProcessor
    saved = {k: sys.modules.get(k) for k in _STUBS}
    sys.modules.update({k: types.ModuleType(k) for k in _STUBS})
    try:
        return importlib.import_module(name).PixtralProcessor
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _tokenizer() -> PreTrainedTokenizerFast:
    vocab = {t: i for i, t in enumerate([*_TOKENS, "[UNK]"])}
    model = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    model.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]")
    tok.add_special_tokens({"additional_special_tokens": _TOKENS})
    return tok


def _qwen_processor():
    """Qwen2.5-VL's image side (its processor needs a torchvision video processor): the
    image processor and the processor rule ``Qwen2_5_VLProcessor`` applies to it."""
    from transformers import Qwen2_5_VLProcessor

    return Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=12845056)


def _folders() -> dict:
    """name → (processor, placeholder text, image token, config.json)."""
    tok = _tokenizer()
    pixtral = pixtral_processor_class()
    llava_cfg = LlavaConfig(vision_config={"model_type": "clip_vision_model"})
    return {
        "llava-1.5": (
            LlavaProcessor(
                image_processor=CLIPImageProcessorPil(
                    size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
                ),
                tokenizer=tok,
                patch_size=14,
                vision_feature_select_strategy="default",
                num_additional_image_tokens=1,
            ),
            "<image>",
            llava_cfg,
        ),
        "llava-interleave-qwen": (
            LlavaProcessor(
                image_processor=SiglipImageProcessorPil(
                    size={"height": 384, "width": 384},
                    image_mean=[0.5, 0.5, 0.5],
                    image_std=[0.5, 0.5, 0.5],
                ),
                tokenizer=tok,
                patch_size=14,
                vision_feature_select_strategy="full",
                num_additional_image_tokens=0,
            ),
            "<image>",
            LlavaConfig(vision_config={"model_type": "siglip_vision_model"}),
        ),
        "llava-next": (
            LlavaNextProcessor(
                image_processor=LlavaNextImageProcessorPil(
                    size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
                ),
                tokenizer=tok,
                patch_size=14,
                vision_feature_select_strategy="default",
                num_additional_image_tokens=1,
            ),
            "<image>",
            None,
        ),
        "pixtral-12b-hf": (
            pixtral(
                image_processor=PixtralImageProcessorPil(size={"longest_edge": 1024}),
                tokenizer=tok,
                patch_size=16,
            ),
            "[IMG]",
            LlavaConfig(vision_config={"model_type": "pixtral", "patch_size": 16}),
        ),
        "mistral-small-3.1": (
            pixtral(
                image_processor=PixtralImageProcessorPil(
                    size={"longest_edge": 1540}, patch_size={"height": 14, "width": 14}
                ),
                tokenizer=tok,
                patch_size=14,
                spatial_merge_size=2,
            ),
            "[IMG]",
            None,
        ),
    }


@cache
def folder(root: str, name: str, nested: bool) -> tuple[Path, object, str]:
    """``name``'s folder written by transformers: ``nested`` as ``processor.save_pretrained``
    writes it, else as published checkpoints ship it (separate preprocessor_config.json)."""
    processor, text, config = _folders()[name]
    path = Path(root) / f"{name}-{'nested' if nested else 'legacy'}"
    processor.save_pretrained(path)
    if not nested:
        proc = json.loads((path / "processor_config.json").read_text())
        proc.pop("image_processor")
        processor.image_processor.save_pretrained(path)
        (path / "processor_config.json").write_text(json.dumps(proc))
    if config is not None:
        config.save_pretrained(path)
    return path, processor, text


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("folders"))


NAMES = ["llava-1.5", "llava-interleave-qwen", "llava-next", "pixtral-12b-hf", "mistral-small-3.1"]
sizes = st.tuples(st.integers(1, 2500), st.integers(1, 2500))


def _reference(processor, text: str, width: int, height: int) -> tuple[int, int, np.ndarray]:
    image = random_image(width, height, seed=width * 7 + height)
    out = processor(text=text, images=[image], return_tensors="np")
    ids = out["input_ids"][0]
    image_id = processor.tokenizer.convert_tokens_to_ids(text)
    return len(ids), int((ids == image_id).sum()), out["pixel_values"][0]


@pytest.mark.parametrize("nested", [True, False], ids=["nested", "legacy"])
@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=sizes)
def test_folder_counts_equal_the_processor(root, name, nested, size):
    path, processor, text = folder(root, name, nested)
    width, height = size
    profile = get_profile(path)
    plan = profile.plan_image(height, width)
    if min(width, height) * 1540 < max(width, height):  # HF Pixtral floors such a side to 0
        return
    tokens, features, _ = _reference(processor, text, width, height)
    assert (plan.tokens, plan.feature_tokens) == (tokens, features)


@pytest.mark.parametrize("name", NAMES)
def test_folder_pixels_equal_the_pil_backend(root, name):
    path, processor, text = folder(root, name, True)
    profile = get_profile(path)
    for width, height in ((613, 411), (37, 1290)):
        image = random_image(width, height, seed=width * 7 + height)
        ours = preprocess_image(image, profile).pixel_values
        ref = _reference(processor, text, width, height)[2]  # through the processor: Pixtral's
        # passes its patch_size × spatial_merge_size to the image processor
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


def test_qwen2_5_folder_counts_equal_the_image_processor(root):
    """Qwen2.5-VL's processor needs a torchvision video processor; its image tokens are
    ``grid_t·grid_h·grid_w / merge²`` of the image processor's ``image_grid_thw``."""
    cls, image_processor = _qwen_processor()
    path = Path(root) / "qwen2.5-vl"
    image_processor.save_pretrained(path)
    data = json.loads((path / "preprocessor_config.json").read_text())
    data["processor_class"] = cls.__name__
    (path / "preprocessor_config.json").write_text(json.dumps(data))
    Qwen2_5_VLConfig(vision_config={"tokens_per_second": 2}).save_pretrained(path)
    profile = get_profile(path)
    assert profile.tokens_per_second == 2
    for width, height in ((4000, 3000), (613, 411), (28, 5000)):
        image = random_image(width, height, seed=1)
        out = image_processor(images=[image], return_tensors="np")
        t, h, w = out["image_grid_thw"][0]
        plan = profile.plan_image(height, width)
        assert plan.grid == (t, h, w)
        assert plan.tokens == plan.feature_tokens == t * h * w // 4
        np.testing.assert_allclose(
            preprocess_image(image, profile).pixel_values, out["pixel_values"], atol=1e-5, rtol=0
        )


def test_count_rows_carry_feature_tokens_from_the_folder(root, tmp_path):
    path, processor, text = folder(root, "pixtral-12b-hf", False)
    file = tmp_path / "photo.png"
    file.write_bytes(encode(random_image(608, 400), "PNG"))
    row = count_file(file, path).to_json()
    tokens, features, _ = _reference(processor, text, 608, 400)
    assert (row["tokens"], row["feature_tokens"]) == (tokens, features) == (975, 950)
