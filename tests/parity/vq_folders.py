"""Tiny Chameleon, Emu3 and Janus model folders written by transformers' own classes.

Real downsampling factors (16, 8, 16), codebook sizes (8,192, 32,768, 16,384) and code widths
(256, 4, 8); narrow convolutions, one-layer text models and small processor sizes keep them
fast on a CPU. Vocabularies place image tokens in a shuffled order so a wrong map shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Split
from transformers import (
    ChameleonConfig,
    ChameleonForConditionalGeneration,
    Emu3Config,
    Emu3ForConditionalGeneration,
    JanusConfig,
    JanusForConditionalGeneration,
)
from transformers.models.chameleon.image_processing_pil_chameleon import ChameleonImageProcessorPil
from transformers.models.emu3.image_processing_emu3 import Emu3ImageProcessor
from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil

TEXT = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1}
HEADS = {"num_attention_heads": 2, "num_key_value_heads": 2}


def _letters(code: int) -> str:
    return "".join("ABCDEFGHIJ"[int(d)] for d in str(code))


def _vocabulary(specials: list[str], codes: list[str], seed: int) -> dict[str, int]:
    """Specials first, then the code tokens at shuffled ids after them."""
    order = np.random.default_rng(seed).permutation(len(codes))
    vocab = {t: i for i, t in enumerate(specials)}
    vocab.update({codes[j]: len(specials) + int(i) for i, j in enumerate(order)})
    return vocab


def _tokenizer_json(folder: Path, vocab: dict[str, int]) -> None:
    """A word-level tokenizer.json that splits every character (digits come out one by one)."""
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = Split("", behavior="isolated")
    tok.save(str(folder / "tokenizer.json"))


def chameleon_folder(folder: Path) -> Path:
    k = 8192
    codes = [f"IMGIMG{_letters(c)}Z" for c in range(k)]
    vocab = _vocabulary(["<unk>", "<s>", "</s>", "<image>", "<racm3:break>", "<eoss>"], codes, 0)
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
    torch.manual_seed(0)
    ChameleonForConditionalGeneration(config).save_pretrained(folder)
    size = {"size": {"shortest_edge": 64}, "crop_size": {"height": 64, "width": 64}}
    ChameleonImageProcessorPil(**size).save_pretrained(folder)
    return folder


def emu3_folder(folder: Path) -> Path:
    k = 32768
    codes = [f"<|visual token {c:06d}|>" for c in range(k)]
    specials = ["<unk>", "<|extra_203|>", "<|endoftext|>", "<image>", "<|image start|>"]
    specials += ["<|image end|>", "<|image token|>", "<|extra_200|>", "<|extra_201|>"]
    specials += [*"0123456789*"]
    vocab = _vocabulary(specials, codes, 1)
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
    torch.manual_seed(0)
    Emu3ForConditionalGeneration(config).save_pretrained(folder)
    half = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    Emu3ImageProcessor(min_pixels=40 * 40, max_pixels=96 * 96, **half).save_pretrained(folder)
    _tokenizer_json(folder, vocab)
    return folder


def janus_folder(folder: Path) -> Path:
    k = 16384
    vocab = {"<unk>": 0, "<begin_of_image>": 1, "<end_of_image>": 2, "<image_placeholder>": 3}
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
    text = {"model_type": "llama", "vocab_size": 8, **TEXT, **HEADS}
    config = JanusConfig(text_config=text, vision_config=vision, vq_config=vq, image_token_id=3)
    torch.manual_seed(0)
    JanusForConditionalGeneration(config).save_pretrained(folder)
    JanusImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)
    _tokenizer_json(folder, vocab)
    return folder
