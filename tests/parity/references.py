"""The reference implementations, constructed offline with the built-in profiles' settings."""

from __future__ import annotations

import os
from functools import cache

import mistral_common
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import LlavaNextProcessor, LlavaProcessor, PreTrainedTokenizerFast
from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil
from transformers.models.llava_next.image_processing_pil_llava_next import (
    LlavaNextImageProcessorPil,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

TEKKEN = os.path.join(os.path.dirname(mistral_common.__file__), "data", "tekken_240911.json")
CLIP_336 = {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}}


@cache
def qwen_image_processor() -> Qwen2VLImageProcessorPil:
    """transformers' defaults: the processor both Qwen2-VL and Qwen2.5-VL use."""
    return Qwen2VLImageProcessorPil()


@cache
def _word_tokenizer() -> PreTrainedTokenizerFast:
    model = Tokenizer(WordLevel({"<image>": 0, "[UNK]": 1}, unk_token="[UNK]"))
    model.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]")
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    return tok


@cache
def llava_processor() -> LlavaProcessor:
    """llava-hf/llava-1.5-7b-hf's settings: CLIP-L/14-336, CLS added then dropped."""
    return LlavaProcessor(
        image_processor=LlavaImageProcessorPil(**CLIP_336),
        tokenizer=_word_tokenizer(),
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )


@cache
def llava_next_processor() -> LlavaNextProcessor:
    """llava-hf/llava-v1.6 settings: default pinpoints, 336 tiles."""
    return LlavaNextProcessor(
        image_processor=LlavaNextImageProcessorPil(**CLIP_336),
        tokenizer=_word_tokenizer(),
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )


@cache
def mistral_tokenizer() -> MistralTokenizer:
    """The Tekken tokenizer mistral-common ships (Pixtral-12B-2409's)."""
    return MistralTokenizer.from_file(TEKKEN)


def pixtral_image_encoder():
    return mistral_tokenizer().instruct_tokenizer.image_encoder
