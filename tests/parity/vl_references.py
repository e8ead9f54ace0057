"""References for Qwen3-VL and GLM-4V, built offline: transformers 5.24's real processors (PIL
image backends), a small byte-level BPE vocabulary both sides load from one file, tiny random
models for ``get_rope_index``, and a test-only stand-in for torchvision.

**The torchvision stand-in.** transformers' video processors resize and normalise with
``torchvision.transforms.v2.functional`` (``tvF``), which cannot be installed beside the CPU
torch here. :func:`torchvision_stand_in` puts a namespace with ``resize`` (``F.interpolate``
to exactly the requested ``(h, w)``), ``normalize``, ``grayscale_to_rgb`` and
``InterpolationMode`` where transformers looks ``tvF`` up, for the duration of one call. The
processors' frame sampling, resize arithmetic, patchify, placeholder expansion and
``mm_token_type_ids`` run unchanged; counts, grids and layouts depend only on the shapes the
stand-in returns, which are exactly those requested (torchvision's ``resize`` returns the
requested size too). The *pixel values* of that path are not torchvision's and are never
compared: video pixels of these families are untested against a reference (no PIL video
path exists in transformers 5.24).
"""

from __future__ import annotations

import contextlib
import importlib
import types
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import Glm4vConfig, PreTrainedTokenizerFast, Qwen3VLConfig
from transformers.image_utils import PILImageResampling
from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil
from transformers.models.glm4v.modeling_glm4v import Glm4vModel
from transformers.models.glm4v.processing_glm4v import Glm4vProcessor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLModel
from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
from transformers.processing_utils import ProcessorMixin

# Imported by module path: the package attribute is a dummy without torchvision.
QWEN3_VIDEO = importlib.import_module("transformers.models.qwen3_vl.video_processing_qwen3_vl")
GLM4V_VIDEO = importlib.import_module("transformers.models.glm4v.video_processing_glm4v")

QWEN3_SPECIALS = ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>")  # fmt: skip
GLM_SPECIALS = ("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>",
                "<|end_of_video|>", "<|image|>", "<|video|>")  # fmt: skip
_CORPUS = [
    "Look at this picture and the video: what happens at 0.5 seconds, 12.5 seconds, 3 or 17?",
    "user assistant system describe compare 0123456789 <> . seconds",
]

# Published checkpoints' folders (Qwen/Qwen3-VL-8B-Instruct, zai-org/GLM-4.1V-9B-Thinking).
QWEN3_IMAGE = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
               "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
               "size": {"shortest_edge": 65536, "longest_edge": 16777216}}  # fmt: skip
QWEN3_VIDEO_CONFIG = {**QWEN3_IMAGE, "size": {"shortest_edge": 4096, "longest_edge": 25165824}}
GLM4V_IMAGE = {"size": {"shortest_edge": 12544, "longest_edge": 9633792}}


def write_tokenizer(path: Path, specials: tuple[str, ...]) -> Path:
    """A byte-level BPE (400 tokens) trained on a fixed corpus, ``specials`` added."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", *specials],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 10, trainer)
    tok.save(str(path))
    return path


def hf_tokenizer(path: Path) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_file=str(path))


@contextlib.contextmanager
def _no_class_check() -> Iterator[None]:
    """ProcessorMixin checks a video processor's class through a lookup that needs
    torchvision; the processors here are the real classes, so the check is skipped."""
    saved = ProcessorMixin.check_argument_for_proper_class
    ProcessorMixin.check_argument_for_proper_class = lambda self, name, arg: None
    try:
        yield
    finally:
        ProcessorMixin.check_argument_for_proper_class = saved


def qwen3_processor(tokenizer: Path, **video: object) -> Qwen3VLProcessor:
    """Qwen3-VL's processor with the published folder's settings (``video`` overrides)."""
    image = Qwen2VLImageProcessorPil(**QWEN3_IMAGE)
    videos = QWEN3_VIDEO.Qwen3VLVideoProcessor(**{**QWEN3_VIDEO_CONFIG, **video})
    with _no_class_check():
        return Qwen3VLProcessor(image, hf_tokenizer(tokenizer), videos)


def glm4v_processor(tokenizer: Path) -> Glm4vProcessor:
    """GLM-4V's processor: the published image limits, the video processor's defaults."""
    image = Glm4vImageProcessorPil(**GLM4V_IMAGE)
    videos = GLM4V_VIDEO.Glm4vVideoProcessor()
    with _no_class_check():
        return Glm4vProcessor(image, hf_tokenizer(tokenizer), videos)


def _resize(x: torch.Tensor, size, interpolation=None, antialias=True) -> torch.Tensor:
    lead = x.shape[:-3]
    y = F.interpolate(x.reshape(-1, *x.shape[-3:]).float(), size=list(size), mode="bilinear")
    return y.reshape(*lead, x.shape[-3], *size).to(x.dtype)


def _normalize(x: torch.Tensor, mean, std, inplace=False) -> torch.Tensor:
    m = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


class _Mode:
    NEAREST, NEAREST_EXACT, BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS = range(7)


_TVF = types.SimpleNamespace(
    InterpolationMode=_Mode,
    resize=_resize,
    normalize=_normalize,
    grayscale_to_rgb=lambda x: x.expand(*x.shape[:-3], 3, *x.shape[-2:]),
)


@contextlib.contextmanager
def torchvision_stand_in() -> Iterator[None]:
    """``tvF`` (and the PIL → torchvision resample table) where transformers reads them."""
    import transformers.image_processing_backends as backends
    import transformers.video_processing_utils as video_utils

    r, m = PILImageResampling, _Mode
    table = {r.NEAREST: m.NEAREST_EXACT, r.BOX: m.BOX, r.BILINEAR: m.BILINEAR,
             r.HAMMING: m.HAMMING, r.BICUBIC: m.BICUBIC, r.LANCZOS: m.LANCZOS}  # fmt: skip
    patched = [(m, "tvF", _TVF) for m in (video_utils, backends, QWEN3_VIDEO, GLM4V_VIDEO)]
    patched.append((backends, "pil_torch_interpolation_mapping", table))
    saved = [(m, k, getattr(m, k, None)) for m, k, _ in patched]
    for m, k, v in patched:
        setattr(m, k, v)
    try:
        yield
    finally:
        for m, k, v in saved:
            setattr(m, k, v)


_TEXT = {
    "vocab_size": 400,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e4},
}


@cache
def qwen3_model(image_id: int, video_id: int) -> Qwen3VLModel:
    """A randomly initialised one-layer Qwen3-VL (merge 2) for ``get_rope_index``."""
    torch.manual_seed(0)
    vision = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "out_hidden_size": 32, "deepstack_visual_indexes": []}  # fmt: skip
    config = Qwen3VLConfig(
        text_config=dict(_TEXT), vision_config=vision, image_token_id=image_id,
        video_token_id=video_id,
    )  # fmt: skip
    return Qwen3VLModel(config).eval()


@cache
def glm4v_model(**ids: int) -> Glm4vModel:
    """A randomly initialised one-layer GLM-4V (merge 2) for ``get_rope_index``."""
    torch.manual_seed(0)
    vision = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "out_hidden_size": 32}  # fmt: skip
    return Glm4vModel(Glm4vConfig(text_config=dict(_TEXT), vision_config=vision, **ids)).eval()


def write_folder(folder: Path, processor: ProcessorMixin, config: object) -> Path:
    """A model folder as ``save_pretrained`` writes it: processor files (tokenizer included)
    and ``config.json``."""
    processor.save_pretrained(folder)
    config.save_pretrained(folder)  # type: ignore[attr-defined]
    return folder


def assert_image_equals_processor(
    processor: ProcessorMixin,
    profile: object,
    tokenizer_file: Path,
    image: object,
    text: str,
    fenced: str,
    rope: object,
) -> None:
    """One image through ``processor`` (prompt ``{text}{fenced} ok``, ``fenced`` the family's
    fenced placeholder) and through mmtok's header-only plan of ``{text}<image> ok``: equal
    input ids, token types, grids, pixels (≤ 1e-5) and position ids (``rope(processor, out)``
    gives the model's ``(positions (3, L), delta)``)."""
    import numpy as np

    from mmtok.fusion.plan import plan_sequence
    from mmtok.image.pixels import preprocess_image
    from mmtok.text.tokenizers import load_tokenizer
    from tests.images import encode

    out = processor(text=[f"{text}{fenced} ok"], images=[image], return_tensors="np")
    request = {
        "prompt": f"{text}<image> ok",
        "media": [{"type": "image", "data": encode(image, "PNG")}],
    }
    plan = plan_sequence(request, profile, load_tokenizer(tokenizer_file))
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    mods = np.where(plan.modality_ids <= 2, plan.modality_ids, 0)
    assert mods.tolist() == out["mm_token_type_ids"][0].tolist()
    assert plan.image_grid_thw.tolist() == out["image_grid_thw"].tolist()
    pixels = preprocess_image(image, profile).pixel_values
    assert pixels.shape == out["pixel_values"].shape
    assert np.abs(pixels - out["pixel_values"]).max() <= 1e-5
    want, delta = rope(processor, out)
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta


def assert_request_equals_processor(
    processor: ProcessorMixin,
    profile: object,
    tokenizer_file: Path,
    folder: Path,
    clip: tuple[int, int],
    second_height: int,
    fences: tuple[str, str],
    rope: object,
) -> None:
    """A real MP4 of ``clip`` = ``(frames, fps)`` at 96×64 between two PNGs (120×50 and
    ``second_height``×300) through mmtok's header-only plan and
    through ``processor`` (the clip's frames handed to it as arrays, ``fences`` the family's
    fenced image and video placeholders): equal ids, token types, video grids and positions."""
    import numpy as np
    from transformers.video_utils import VideoMetadata

    from mmtok.fusion.plan import plan_sequence
    from mmtok.text.tokenizers import load_tokenizer
    from tests.images import encode, random_image
    from tests.parity.fusion_references import write_video

    frames, fps = clip
    path = folder / "clip.mp4"
    write_video(path, frames, (96, 64), fps)
    a, b = random_image(120, 50, seed=1), random_image(second_height, 300, seed=2)
    request = {
        "prompt": "x <image> y <video> z <image>",
        "media": [
            {"type": "image", "data": encode(a, "PNG")},
            {"type": "video", "path": str(path)},
            {"type": "image", "data": encode(b, "PNG")},
        ],
    }
    plan = plan_sequence(request, profile, load_tokenizer(tokenizer_file))
    image, video = fences
    meta = VideoMetadata(total_num_frames=frames, fps=float(fps), duration=frames / fps)
    with torchvision_stand_in():
        out = processor(
            text=[f"x {image} y {video} z {image}"],
            images=[a, b],
            videos=[np.zeros((frames, 64, 96, 3), np.uint8)],
            video_metadata=[meta],
            return_tensors="np",
        )
    assert plan.input_ids.tolist() == out["input_ids"][0].tolist()
    mods = np.where(plan.modality_ids <= 2, plan.modality_ids, 0)
    assert mods.tolist() == out["mm_token_type_ids"][0].tolist()
    assert plan.video_grid_thw.tolist() == out["video_grid_thw"].tolist()
    want, delta = rope(processor, out)
    assert plan.position_ids.tolist() == want.tolist()
    assert plan.rope_delta == delta
