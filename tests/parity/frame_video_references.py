"""References for videos laid out as one image view per frame: transformers 5.24's
``InternVLProcessor`` and ``SmolVLMProcessor`` with their video processors, run on the
torchvision stand-in of :mod:`tests.parity.vl_references` (exact output shapes; see there).

``InternVLVideoProcessor``'s module imports torchvision at its top: it is imported once with
empty stand-in ``torchvision`` modules in ``sys.modules`` (only for that import; transformers'
own torchvision checks are imported first, so they keep answering "not installed"). Its
``tvF`` and SmolVLM's are replaced by the stand-in for the duration of a call. Frame sampling,
resize arithmetic, placeholder expansion and the prompt text run unchanged; the pixel values
of this path are not torchvision's and are never compared.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import transformers.image_processing_utils
import transformers.processing_utils
import transformers.video_processing_utils  # noqa: F401  (before the stand-in modules)
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil
from transformers.models.internvl.processing_internvl import InternVLProcessor
from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil
from transformers.models.smolvlm.processing_smolvlm import SmolVLMProcessor

from tests.parity import tiling_references as tr
from tests.parity import vl_references as vl
from tests.parity import wave2_references as w2

_STUBS = ("torchvision", "torchvision.transforms", "torchvision.transforms.v2",
          "torchvision.transforms.v2.functional")  # fmt: skip


def _import_without_torchvision(name: str) -> types.ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    saved = {k: sys.modules.get(k) for k in _STUBS}
    sys.modules.update({k: types.ModuleType(k) for k in _STUBS})
    try:
        return importlib.import_module(name)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


INTERNVL_VIDEO = _import_without_torchvision(
    "transformers.models.internvl.video_processing_internvl"
)
SMOLVLM_VIDEO = importlib.import_module("transformers.models.smolvlm.video_processing_smolvlm")

CORPUS = [
    "Describe Frame1: Frame2: \nFrame3: what happens in this video? 0123456789",
    "You are provided the following series of sixty-four frames from a 0:00:10 [H:MM:SS] "
    "video.\n\nFrame from 00:01:\n\n one two three four five six seven eight nine ten",
]
# OpenGVLab/InternVL3-8B-hf's video_preprocessor_config.json (448², ImageNet mean/std).
INTERNVL3_VIDEO = {
    "size": {"height": 448, "width": 448},
    "resample": 3,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}
# HuggingFaceTB/SmolVLM2-2.2B-Instruct's video processor settings.
SMOLVLM2_VIDEO = {
    "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 384}},
    "max_image_size": {"longest_edge": 384},
    "size": {"longest_edge": 384},
    "resample": 1,
    "image_mean": [0.5] * 3,
    "image_std": [0.5] * 3,
}


def write_tokenizer(path: Path, specials: tuple[str, ...]) -> Path:
    """The wave-2 BPE trained on text the video prompts write (labels merge with it)."""
    return w2.write_tokenizer(path, specials, corpus=CORPUS)


def internvl_processor(tokenizer: Path, **video: object) -> InternVLProcessor:
    tok = w2.hf_tokenizer(
        tokenizer,
        extra_special_tokens={"start_image_token": "<img>", "end_image_token": "</img>",
                              "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"},
    )  # fmt: skip
    videos = INTERNVL_VIDEO.InternVLVideoProcessor(**{**INTERNVL3_VIDEO, **video})
    with vl._no_class_check():
        return InternVLProcessor(
            GotOcr2ImageProcessorPil(**tr.INTERNVL3_IMAGE), tok, videos, image_seq_length=256
        )


def smolvlm_processor(tokenizer: Path, **video: object) -> SmolVLMProcessor:
    videos = SMOLVLM_VIDEO.SmolVLMVideoProcessor(**{**SMOLVLM2_VIDEO, **video})
    with vl._no_class_check():
        return SmolVLMProcessor(
            SmolVLMImageProcessorPil(**tr.SMOLVLM_IMAGE), w2.hf_tokenizer(tokenizer), videos,
            image_seq_len=81,
        )  # fmt: skip


@contextlib.contextmanager
def torchvision_stand_in() -> Iterator[None]:
    """:func:`tests.parity.vl_references.torchvision_stand_in`, also where these two video
    processor modules look ``tvF`` up."""
    modules = (INTERNVL_VIDEO, SMOLVLM_VIDEO)
    saved = [(m, getattr(m, "tvF", None)) for m in modules]
    for m in modules:
        m.tvF = vl._TVF
    try:
        with vl.torchvision_stand_in():
            yield
    finally:
        for m, v in saved:
            m.tvF = v
