"""Tiny Chameleon, Emu3 and Janus model folders written by transformers' own classes.

Real downsampling factors (16, 8, 16), codebook sizes (8,192, 32,768, 16,384) and code widths
(256, 4, 8); narrow convolutions, one-layer text models and small processor sizes keep them
fast on a CPU. Vocabularies place image tokens in a shuffled order so a wrong map shows.
Chameleon and Emu3 folders hold their processor too (tokenizer.json, tokenizer_config.json,
processor_config.json), with a few letters so prompts have text. ``weights=False`` writes
the configs alone (what header-only counting reads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Split
from tokenizers.processors import TemplateProcessing
from transformers import (
    ChameleonConfig,
    ChameleonForConditionalGeneration,
    ChameleonProcessor,
    Emu3Config,
    Emu3ForConditionalGeneration,
    Emu3Processor,
    JanusConfig,
    JanusForConditionalGeneration,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)
from transformers.models.chameleon.image_processing_pil_chameleon import ChameleonImageProcessorPil
from transformers.models.emu3.image_processing_emu3 import Emu3ImageProcessor
from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil

TEXT = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1}
LETTERS = [*"abcdefghijklmnopqrstuvwxyz .,?"]
HEADS = {"num_attention_heads": 2, "num_key_value_heads": 2}


def _letters(code: int) -> str:
    return "".join("ABCDEFGHIJ"[int(d)] for d in str(code))


def _vocabulary(specials: list[str], codes: list[str], seed: int) -> dict[str, int]:
    """Specials first, then the code tokens at shuffled ids after them."""
    order = np.random.default_rng(seed).permutation(len(codes))
    vocab = {t: i for i, t in enumerate(specials)}
    vocab.update({codes[j]: len(specials) + int(i) for i, j in enumerate(order)})
    return vocab


def _tokenizer(
    vocab: dict[str, int], specials: list[str], bos: str | None = None, **tokens: object
) -> PreTrainedTokenizerFast:
    """A word-level tokenizer that splits every character (digits come out one by one), with
    ``specials`` as added special tokens; ``bos`` added by its post-processor when given."""
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = Split("", behavior="isolated")
    if bos is not None:
        tok.post_processor = TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, vocab[bos])]
        )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **tokens)
    fast.add_special_tokens({"additional_special_tokens": specials})
    return fast


def _save(
    model_class: type[PreTrainedModel], config: PretrainedConfig, folder: Path, weights: bool
) -> None:
    if weights:
        torch.manual_seed(0)
        model_class(config).save_pretrained(folder)
    else:
        config.save_pretrained(folder)


def chameleon_folder(folder: Path, weights: bool = True) -> Path:
    k = 8192
    codes = [f"IMGIMG{_letters(c)}Z" for c in range(k)]
    specials = ["<unk>", "<s>", "</s>", "<image>", "<racm3:break>", "<eoss>", "<reserved08706>"]
    vocab = _vocabulary([*specials, *LETTERS], codes, 0)
    vq = {
        "base_channels": 32,
        "channel_multiplier": [1, 1, 1, 1, 1],
        "num_res_blocks": 1,
        "latent_channels": 32,
        "embed_dim": 256,
        "num_embeddings": k,
        "resolution": 64,
    }
    config = ChameleonConfig(
        vocab_size=len(vocab), **TEXT, **HEADS, vq_config=vq, vocabulary_map=vocab
    )
    _save(ChameleonForConditionalGeneration, config, folder, weights)
    size = {"size": {"shortest_edge": 64}, "crop_size": {"height": 64, "width": 64}}
    names = {"image_token": "<image>", "boi_token": "<racm3:break>", "eoi_token": "<eoss>"}
    tokenizer = _tokenizer(
        vocab, specials, bos="<s>", bos_token="<s>", sep_token="<reserved08706>",
        extra_special_tokens=names,
    )  # fmt: skip
    image_processor = ChameleonImageProcessorPil(**size)
    ChameleonProcessor(image_processor, tokenizer, image_seq_length=16).save_pretrained(folder)
    return folder


def emu3_folder(folder: Path, weights: bool = True) -> Path:
    k = 32768
    codes = [f"<|visual token {c:06d}|>" for c in range(k)]
    specials = ["<unk>", "<|extra_203|>", "<|endoftext|>", "<image>", "<|image start|>"]
    specials += ["<|image end|>", "<|image token|>", "<|extra_200|>", "<|extra_201|>"]
    vocab = _vocabulary([*specials, *"0123456789*", *LETTERS], codes, 1)
    vq = {
        "base_channels": 32,
        "channel_multiplier": [1, 1, 1, 1],
        "num_res_blocks": 1,
        "attn_resolutions": [3],
        "hidden_size": 32,
        "codebook_size": k,
        "embed_dim": 4,
        "latent_channels": 4,
    }
    text = {"vocab_size": len(vocab), **TEXT, **HEADS, "pad_token_id": 0, "bos_token_id": 1}
    config = Emu3Config(vq_config=vq, text_config=text | {"eos_token_id": 2}, vocabulary_map=vocab)
    _save(Emu3ForConditionalGeneration, config, folder, weights)
    half = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    image_processor = Emu3ImageProcessor(min_pixels=40 * 40, max_pixels=96 * 96, **half)
    names = {"image_token": "<image>", "boi_token": "<|image start|>"}
    names |= {"eoi_token": "<|image end|>", "image_wrapper_token": "<|image token|>"}
    names |= {"eof_token": "<|extra_201|>"}
    tokenizer = _tokenizer(vocab, specials, bos_token="<|extra_203|>", extra_special_tokens=names)
    Emu3Processor(image_processor, tokenizer).save_pretrained(folder)
    return folder


def janus_folder(folder: Path, weights: bool = True) -> Path:
    k = 16384
    specials = ["<unk>", "<begin_of_image>", "<end_of_image>", "<image_placeholder>"]
    vocab = {t: i for i, t in enumerate([*specials, *LETTERS])}
    vq = {
        "base_channels": 32,
        "channel_multiplier": [1, 1, 1, 1, 1],
        "num_res_blocks": 1,
        "latent_channels": 32,
        "embed_dim": 8,
        "num_embeddings": k,
        "projection_dim": 16,
        "image_token_embed_dim": 16,
    }
    vision = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}
    vision |= {"image_size": 64, "patch_size": 16, "projection_dim": 16}
    text = {"model_type": "llama", "vocab_size": len(vocab), **TEXT, **HEADS}
    config = JanusConfig(text_config=text, vision_config=vision, vq_config=vq, image_token_id=3)
    _save(JanusForConditionalGeneration, config, folder, weights)
    JanusImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)
    _tokenizer(vocab, specials).save_pretrained(folder)
    return folder
