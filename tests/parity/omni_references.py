"""Qwen2.5-Omni references, built offline: transformers 5.24's ``Qwen2_5OmniProcessor`` (the PIL
image processor, ``Qwen2VLVideoProcessor`` under the torchvision stand-in, the checkpoints'
300 s ``WhisperFeatureExtractor``), a small byte-level BPE vocabulary with the Omni special
tokens, and a tiny random ``Qwen2_5OmniThinkerForConditionalGeneration`` for
``get_rope_index`` and a real ``forward``.

``Qwen2VLVideoProcessor``'s module imports torchvision at its top; it is imported here once
with :data:`vl_references._TVF` standing in for ``torchvision.transforms.v2.functional`` (the
module only names it in annotations; the resize and normalise calls it makes go through the
modules :func:`vl_references.torchvision_stand_in` patches). ``sys.modules`` is restored right
after, so nothing else in the process sees a torchvision.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import cache
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast, WhisperFeatureExtractor
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniThinkerConfig
from transformers.models.qwen2_5_omni.modeling_qwen2_5_omni import (
    Qwen2_5OmniThinkerForConditionalGeneration,
)
from transformers.models.qwen2_5_omni.processing_qwen2_5_omni import Qwen2_5OmniProcessor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from tests.parity import vl_references as ref

OMNI_SPECIALS = ("<|im_start|>", "<|im_end|>", "<|vision_bos|>", "<|vision_eos|>", "<|IMAGE|>",
                 "<|VIDEO|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")  # fmt: skip
# The tokenizer attributes the processor reads (Qwen2.5-Omni's tokenizer_config.json).
OMNI_TOKENS = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}


def _import_qwen2_vl_video() -> types.ModuleType:
    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.v2",
             "torchvision.transforms.v2.functional")  # fmt: skip
    fake = {n: types.ModuleType(n) for n in names}
    vars(fake[names[-1]]).update(vars(ref._TVF))
    saved = {n: sys.modules.get(n) for n in names}
    sys.modules.update(fake)
    try:
        return importlib.import_module("transformers.models.qwen2_vl.video_processing_qwen2_vl")
    finally:
        for n, module in saved.items():
            if module is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = module


QWEN2_VIDEO = _import_qwen2_vl_video()


def omni_tokenizer(path: Path) -> PreTrainedTokenizerFast:
    """The vocabulary at ``path`` (:func:`vl_references.write_tokenizer`) with Omni's token
    attributes."""
    return PreTrainedTokenizerFast(tokenizer_file=str(path), extra_special_tokens=OMNI_TOKENS)


def omni_processor(tokenizer: Path) -> Qwen2_5OmniProcessor:
    """Qwen2.5-Omni's processor with the released checkpoints' settings (the image and video
    processors' defaults, a 128-bin 300 s Whisper feature extractor)."""
    with ref._no_class_check():
        return Qwen2_5OmniProcessor(
            Qwen2VLImageProcessorPil(),
            QWEN2_VIDEO.Qwen2VLVideoProcessor(cap_pixels_per_frame=False),
            WhisperFeatureExtractor(feature_size=128, chunk_length=300),
            omni_tokenizer(tokenizer),
        )


@cache
def omni_thinker(tokenizer: Path) -> Qwen2_5OmniThinkerForConditionalGeneration:
    """A randomly initialised one-layer thinker (merge 2, 25 positions per second, 2 s
    chunks) whose token ids are the vocabulary's."""
    torch.manual_seed(0)
    tok = omni_tokenizer(tokenizer)
    ids = tok.convert_tokens_to_ids
    text = {k: v for k, v in ref._TEXT.items() if k != "head_dim"}
    vision = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "out_hidden_size": 32, "fullatt_block_indexes": [0]}  # fmt: skip
    audio = {"num_mel_bins": 128, "encoder_layers": 1, "encoder_attention_heads": 2,
             "encoder_ffn_dim": 64, "d_model": 32, "output_dim": 32}  # fmt: skip
    config = Qwen2_5OmniThinkerConfig(
        text_config=text, vision_config=vision, audio_config=audio,
        image_token_index=ids("<|IMAGE|>"), video_token_index=ids("<|VIDEO|>"),
        audio_token_index=ids("<|AUDIO|>"), audio_start_token_id=ids("<|audio_bos|>"),
        audio_end_token_id=ids("<|audio_eos|>"), vision_start_token_id=ids("<|vision_bos|>"),
        vision_end_token_id=ids("<|vision_eos|>"),
    )  # fmt: skip
    return Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
