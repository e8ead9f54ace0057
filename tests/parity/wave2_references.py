"""References for Gemma 3, LLaVA-OneVision and Llama 4, built offline: transformers 5.24's real
processors (PIL image backends where they exist) and a small byte-level BPE vocabulary that both
sides load from one file (trained on text with runs of newlines and spaces, so the text the
processors write around images merges with its neighbours as a real vocabulary would make it).

**The torchvision stand-in (Llama 4).** ``Llama4ImageProcessor`` exists only as a torchvision
backend in transformers 5.24, and torchvision cannot be installed beside the CPU torch here.
:func:`llama4_image_processor` imports the module with a namespace standing in for
``torchvision.transforms.v2.functional``: ``resize`` (``F.interpolate``, bilinear, antialias,
to exactly the requested ``(h, w)``), ``pad`` (zeros right/bottom to exactly the requested
padding), ``normalize`` and ``InterpolationMode``. The canvas choice, the resize arithmetic,
tile splitting and the placeholder string run unchanged and depend only on the shapes the
stand-in returns, which are those torchvision returns (``resize`` returns the requested size,
``pad`` adds exactly the padding asked). The *pixel values* of that path are not torchvision's
and are never compared: Llama 4 pixels are untested against a reference.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

GEMMA_SPECIALS = ("<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
                  "<image_soft_token>")  # fmt: skip
ONEVISION_SPECIALS = ("<|im_start|>", "<|im_end|>", "<image>", "<video>")
LLAMA4_SPECIALS = ("<|begin_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>",
                   "<|image_start|>", "<|image_end|>", "<|image|>", "<|patch|>",
                   "<|tile_x_separator|>", "<|tile_y_separator|>")  # fmt: skip
_CORPUS = [
    "Here is the original image \n\n and here are some crops to help you see better \n\n \n\n",
    "user\n\n\nmodel\nwhat is in this picture?\n\n\n\nDescribe it. \n \n\nassistant\n",
    "system\n\nYou are helpful. compare these 0123456789 images please",
]


def write_tokenizer(
    path: Path, specials: tuple[str, ...], bos: str | None = None, corpus: list[str] | None = None
) -> Path:
    """A byte-level BPE (500 tokens) trained on a fixed corpus (or ``corpus``), ``specials``
    added."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=["<|endoftext|>", *specials],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((corpus or _CORPUS) * 20, trainer)
    tok.save(str(path))
    return path


def hf_tokenizer(path: Path, **extra: str) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_file=str(path), **extra)


def gemma3_processor(tokenizer: Path, **image: object):
    """Gemma 3's processor with google/gemma-3-4b-it's image settings (``image`` overrides)."""
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil
    from transformers.models.gemma3.processing_gemma3 import Gemma3Processor

    settings = {
        "size": {"height": 896, "width": 896},
        "resample": 2,
        "image_mean": [0.5] * 3,
        "image_std": [0.5] * 3,
        "pan_and_scan_min_crop_size": 256,
        "pan_and_scan_max_num_crops": 4,
        "pan_and_scan_min_ratio_to_activate": 1.2,
    }
    tok = hf_tokenizer(
        tokenizer,
        extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                              "image_token": "<image_soft_token>"},
    )  # fmt: skip
    return Gemma3Processor(Gemma3ImageProcessorPil(**{**settings, **image}), tok)


def onevision_processor(tokenizer: Path, **image: object):
    """LLaVA-OneVision's processor with llava-onevision-qwen2-7b-ov-hf's settings (image only:
    its video processor needs torchvision)."""
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )
    from transformers.models.llava_onevision.processing_llava_onevision import (
        LlavaOnevisionProcessor,
    )

    from tests.parity.vl_references import _no_class_check

    proc = LlavaOnevisionImageProcessorPil(**image)
    with _no_class_check():
        return LlavaOnevisionProcessor(
            proc, hf_tokenizer(tokenizer), None, num_image_tokens=729,
            vision_feature_select_strategy="full", vision_aspect_ratio="anyres_max_9",
        )  # fmt: skip


def _resize(x: torch.Tensor, size, interpolation=None, antialias=True) -> torch.Tensor:
    lead = x.shape[:-3]
    y = F.interpolate(
        x.reshape(-1, *x.shape[-3:]).float(), size=list(size), mode="bilinear", antialias=True
    )
    return y.round().clamp(0, 255).reshape(*lead, x.shape[-3], *size).to(x.dtype)


def _pad(x: torch.Tensor, padding, fill=0) -> torch.Tensor:
    left, top, right, bottom = padding
    return F.pad(x, (left, right, top, bottom))


def _normalize(x: torch.Tensor, mean, std, inplace=False) -> torch.Tensor:
    m = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


class _Mode:
    NEAREST, NEAREST_EXACT, BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS = range(7)


@cache
def _llama4_module():
    """``image_processing_llama4`` imported with the stand-in as its ``tvF``."""
    tvf = types.SimpleNamespace(
        InterpolationMode=_Mode, resize=_resize, pad=_pad, normalize=_normalize,
        grayscale_to_rgb=lambda x: x.expand(*x.shape[:-3], 3, *x.shape[-2:]),
    )  # fmt: skip
    names = ["torchvision", "torchvision.transforms", "torchvision.transforms.v2"]
    saved = {n: sys.modules.get(n) for n in [*names, "torchvision.transforms.v2.functional"]}
    for n in names:
        sys.modules[n] = types.ModuleType(n)
    sys.modules["torchvision.transforms.v2"].functional = tvf  # type: ignore[attr-defined]
    sys.modules["torchvision.transforms.v2.functional"] = tvf  # type: ignore[assignment]
    try:
        name = "transformers.models.llama4.image_processing_llama4"
        sys.modules.pop(name, None)
        module = importlib.import_module(name)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    import transformers.image_processing_backends as backends

    backends.tvF = tvf  # the backend's own resize/normalize/pad calls
    return module


def llama4_image_processor(**settings: object):
    """Llama4ImageProcessor (Scout's settings by default) on the torchvision stand-in."""
    import transformers.image_processing_backends as backends
    from transformers.image_utils import PILImageResampling

    r = PILImageResampling
    backends.pil_torch_interpolation_mapping = {r.BILINEAR: _Mode.BILINEAR,
                                                r.BICUBIC: _Mode.BICUBIC}  # fmt: skip
    return _llama4_module().Llama4ImageProcessor(**settings)


def llama4_processor(tokenizer: Path, **settings: object):
    from transformers.models.llama4.processing_llama4 import Llama4Processor

    from tests.parity.vl_references import _no_class_check

    with _no_class_check():
        return Llama4Processor(llama4_image_processor(**settings), hf_tokenizer(tokenizer))
