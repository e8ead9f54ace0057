"""References for the fusion tests, built offline: tiny random Qwen2-VL / Qwen2.5-VL models
(for ``get_rope_index`` and a real ``forward``), the Qwen vocabulary shipped by dashscope,
and the original Qwen M-RoPE rule as a plain per-segment loop."""

from __future__ import annotations

import os
from functools import cache

import dashscope
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import Qwen2_5_VLConfig, Qwen2VLConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLModel
from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLModel

from mmtok.text.tokenizers import TextTokenizer, tiktoken_tokenizer

QWEN_TIKTOKEN = os.path.join(os.path.dirname(dashscope.__file__), "resources", "qwen.tiktoken")
IMAGE_ID, VIDEO_ID, VISION_START = 151655, 151656, 151652

_TEXT = {
    "vocab_size": 152_000,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e4},
}
_IDS = {
    "image_token_id": IMAGE_ID,
    "video_token_id": VIDEO_ID,
    "vision_start_token_id": VISION_START,
}


@cache
def qwen2_vl_model() -> Qwen2VLModel:
    """A randomly initialised one-layer Qwen2-VL (merge 2, patch 14, temporal patch 2)."""
    torch.manual_seed(0)
    vision = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2}
    config = Qwen2VLConfig(text_config=dict(_TEXT), vision_config=vision, **_IDS)
    return Qwen2VLModel(config).eval()


@cache
def qwen2_5_vl_model() -> Qwen2_5_VLModel:
    """A randomly initialised one-layer Qwen2.5-VL with the released ``tokens_per_second=2``."""
    torch.manual_seed(0)
    vision = {
        "depth": 1,
        "hidden_size": 32,
        "out_hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "tokens_per_second": 2,
        "fullatt_block_indexes": [0],
    }
    config = Qwen2_5_VLConfig(text_config=dict(_TEXT), vision_config=vision, **_IDS)
    return Qwen2_5_VLModel(config).eval()


@cache
def qwen_tokenizer() -> TextTokenizer:
    """Qwen2's vocabulary: dashscope's ``qwen.tiktoken`` with Qwen2's special tokens."""
    return tiktoken_tokenizer(QWEN_TIKTOKEN)


def original_rope_index(
    token_types: list[int],
    image_grids: list[tuple[int, int, int]],
    video_grids: list[tuple[int, int, int]],
    video_steps: list[float],
    merge: int = 2,
) -> tuple[list[list[int]], int]:
    """The M-RoPE rule as Qwen published it (transformers 4.x, vLLM): every segment starts
    at the previous segment's largest position + 1. A loop over segments and tokens,
    written from the rule, independent of the vectorised code. ``token_types`` 0/1/2."""
    pos: list[list[int]] = [[], [], []]
    images, videos, steps = iter(image_grids), iter(video_grids), iter(video_steps)
    i = 0
    n = len(token_types)
    while i < n:
        start = max((max(axis) for axis in pos if axis), default=-1) + 1
        kind = token_types[i]
        if kind == 0:
            for axis in pos:
                axis.append(start)
            i += 1
            continue
        t, h, w = next(images) if kind == 1 else next(videos)
        step = torch.tensor(next(steps) if kind == 2 else 1.0, dtype=torch.float32)
        for tt in range(t):
            offset = int((torch.tensor(float(tt), dtype=torch.float32) * step).item())
            for hh in range(h // merge):
                for ww in range(w // merge):
                    pos[0].append(start + offset)
                    pos[1].append(start + hh)
                    pos[2].append(start + ww)
        i += t * (h // merge) * (w // merge)
    delta = max(max(axis) for axis in pos) + 1 - n if n else 0
    return pos, delta


def write_video(path, frames: int, size: tuple[int, int], fps: int) -> None:
    """A small MPEG-4 clip of ``frames`` random frames of ``size`` (w, h) at ``fps``."""
    import av
    import numpy as np

    from tests.images import random_image

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            rgb = np.asarray(random_image(size[0], size[1], seed=i))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def word_tokenizer_json(path: str) -> str:
    """The WordLevel tokenizer of ``references.py``'s LLaVA processors, saved as a file."""
    model = Tokenizer(WordLevel({"<image>": 0, "[UNK]": 1}, unk_token="[UNK]"))
    model.pre_tokenizer = WhitespaceSplit()
    model.add_special_tokens(["<image>"])
    model.save(path)
    return path
