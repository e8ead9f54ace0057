"""A local Hugging Face model folder → a :class:`Profile`, read by what the folder contains.

transformers runs a folder through its *processor class* (which decides the token layout)
and its *image / video processor classes* (which decide the resize rule); ``model_type``
only picks them when the folder names none. This module does the same, without network or
transformers, from the registries below:

- :data:`PROCESSORS`: processor class → the built-in family whose layout, special tokens and
  chat template apply, the image processor classes it is used with, and the
  ``processor_config.json`` keys its constructor reads, with their defaults;
- :data:`IMAGE_PROCESSORS`: image processor class → the function that reads its resize rule,
  the class's own defaults, the keys it reads, and the processor class it implies when the
  folder names none;
- :data:`MODEL_TYPES`: ``config.json`` ``model_type`` → the (processor, image processor)
  classes transformers' Auto classes pick for it.

Files, in transformers' order: ``processor_config.json`` (processor keys; since transformers 5
also nested ``image_processor`` / ``video_processor`` dicts), else ``preprocessor_config.json``
(image processor) and ``video_preprocessor_config.json`` (video processor; absent: the
image processor file, as ``BaseVideoProcessor.get_video_processor_dict`` falls back);
``config.json`` gives the model type and the LLM and vision-tower dimensions of the cost model.
A value ``null`` means the class default, as transformers reads it.

Refused with a :class:`ConfigError` naming the file and key: an unknown processor or image
processor class, a pairing transformers never makes, and any setting mmtok does not
implement — a resample mode other than the class's own (``ImageRule.resample``; bicubic
unless stated), a disabled resize/rescale/normalise step, a flag of a class it is not read
for (``do_pan_and_scan`` outside Gemma 3, …) or a value of the wrong type. Adding a family is
one entry in each registry (and its built-in profile).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mmtok.audio.mel import MelConfig
from mmtok.errors import ConfigError
from mmtok.image.policies import (
    AnyRes,
    ExactSize,
    FixedSize,
    MaxSide,
    PanScan,
    ResizePolicy,
    SmartResize,
    SplitGrid,
    TileCanvas,
    TileGrid,
)
from mmtok.profiles.base import CLIP_MEAN, CLIP_STD, Profile
from mmtok.profiles.dims import llm_from_config, vision_from_config
from mmtok.profiles.gemma3 import GEMMA3
from mmtok.profiles.gemma3n import GEMMA3N
from mmtok.profiles.glm4v import GLM4V
from mmtok.profiles.idefics3 import IDEFICS3, SMOLVLM
from mmtok.profiles.internvl import INTERNVL3
from mmtok.profiles.llama4 import LLAMA4
from mmtok.profiles.llava import LLAVA_1_5, LLAVA_NEXT
from mmtok.profiles.llava_onevision import LLAVA_ONEVISION
from mmtok.profiles.mistral3 import MISTRAL3
from mmtok.profiles.omni import QWEN2_5_OMNI
from mmtok.profiles.qwen import QWEN2_5_VL, QWEN2_VL
from mmtok.profiles.qwen3 import QWEN3_VL
from mmtok.profiles.qwen_audio import QWEN2_AUDIO
from mmtok.profiles.voxtral import VOXTRAL

Config = Mapping[str, Any]


@dataclass(frozen=True)
class Settings:
    """One settings dict and the file it came from (named in every error)."""

    data: Config
    file: str

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value


@dataclass(frozen=True)
class ImageRule:
    """How one transformers image processor class resizes: ``policy`` reads its resize rule
    from the folder's settings (class ``defaults`` under them); ``keys`` are the settings it
    reads beyond :data:`SHARED_IMAGE_KEYS`; ``processor`` the processor class it implies when
    the folder names none (``None``: several use it)."""

    policy: Callable[[Settings, Profile], ResizePolicy]
    defaults: Config
    keys: frozenset[str] = frozenset()
    processor: str | None = None
    resample: tuple[object, ...] | None = None  # the values it implements (None: bicubic)


@dataclass(frozen=True)
class ProcessorRule:
    """What a transformers processor class means for a folder: the built-in ``profile`` whose
    layout, tokens and template apply, the ``image_processors`` it is used with, and its
    ``keys``: the ``processor_config.json`` keys its constructor reads, with its defaults
    (``None``: none); ``video_keys``: its video processor's settings beyond
    :data:`VIDEO_KEYS` (read in ``_video_changes``, or ignored where the reference ignores
    them)."""

    profile: Profile
    image_processors: tuple[str, ...]
    keys: Config = field(default_factory=dict)
    video_keys: frozenset[str] = frozenset()
    # Which of ``keys`` name token strings (``None``: :data:`_TOKEN_KEYS`), and a function
    # reading the family's own ``keys`` into the built profile (``None``: none).
    token_keys: Mapping[str, str] | None = None
    finish: Callable[[Profile, Settings], Profile] | None = None
    # The tower's ``vision_config.patch_size`` default where config.json, not the image
    # processor, gives the patch (Idefics3 / SmolVLM: SmolVLM-256M/500M use 16, not 14).
    vision_patch: int | None = None
    # A video is one image view per frame (InternVL, SmolVLM): read by _frame_video_changes.
    frame_views: bool = False
    # A function reading the family's video processor settings (``video_keys``) into the
    # profile after :func:`_video_changes` (``None``: none).
    video_finish: Callable[[Profile, Settings, Profile], Profile] | None = None
    # The feature extractor classes it is used with (audio families), and whether the
    # folder's front end may differ from the profile's (``False``: Voxtral, whose token count
    # follows mistral-common's own audio settings, not the feature extractor's).
    feature_extractors: tuple[str, ...] = ()
    audio_from_folder: bool = True
    # Video processor settings the processor passes to every call, whatever the folder says
    # (Qwen2.5-Omni's ``videos_kwargs`` size): a different saved value is refused.
    video_fixed: Config = field(default_factory=dict)


# --- resize rules, one reader per image processor class ---------------------------------------


def _size(src: Settings, *keys: str) -> int | None:
    """``size[key]`` for the first key present (``size`` may be a plain int: every key)."""
    size = src.get("size")
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    if not isinstance(size, Mapping):
        raise ConfigError(f"{src.file}: size must be an object or an integer, got {size!r}")
    for key in keys:
        if size.get(key) is not None:
            return _int(src, f"size.{key}", size[key])
    return None


def _int(src: Settings, key: str, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)  # json reads NaN / Infinity
        or int(value) != value
    ):
        raise ConfigError(f"{src.file}: {key} must be an integer, got {value!r}")
    if value <= 0:
        raise ConfigError(f"{src.file}: {key} must be positive, got {value!r}")
    return int(value)


def _float(src: Settings, key: str, value: Any, *, positive: bool = True) -> float:
    """A finite number (``positive``: above 0); anything else is refused naming the key."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or (positive and value <= 0)
    ):
        kind = "a positive number" if positive else "a finite number"
        raise ConfigError(f"{src.file}: {key} must be {kind}, got {value!r}")
    return float(value)


def _square(src: Settings, key: str) -> int:
    """A square side given as an int or ``{height, width}``; anything else is refused."""
    value = src.get(key)
    if isinstance(value, Mapping):
        h, w = value.get("height"), value.get("width")
        if h is None or h != w:
            raise ConfigError(f"{src.file}: {key} {dict(value)} is not a square mmtok implements")
        return _int(src, f"{key}.height", h)
    return _int(src, key, value)


def _smart_resize(src: Settings, base: Profile) -> ResizePolicy:
    """Qwen2-VL: ``min_pixels``/``max_pixels`` over ``size.shortest_edge/longest_edge``."""
    lo = src.get("min_pixels") or _size(src, "shortest_edge")
    hi = src.get("max_pixels") or _size(src, "longest_edge")
    if lo is None or hi is None:
        raise ConfigError(f"{src.file}: size needs shortest_edge and longest_edge (pixels)")
    return SmartResize(
        min_pixels=_int(src, "min_pixels", lo), max_pixels=_int(src, "max_pixels", hi)
    )


def _longest_edge(src: Settings, base: Profile) -> ResizePolicy:
    """transformers' Pixtral: shrink to ``size.longest_edge`` flooring the sides."""
    longest = _size(src, "longest_edge")
    if longest is None:
        raise ConfigError(f"{src.file}: size needs longest_edge (height/width is not implemented)")
    return MaxSide(max_image_size=longest, rounding="floor")


def _shortest_edge_crop(src: Settings, base: Profile) -> ResizePolicy:
    """CLIP / LLaVA: shortest side to ``size.shortest_edge``, centre ``crop_size`` square;
    ``do_pad`` (LlavaImageProcessor only) pads to a square in the mean colour first."""
    if src.get("do_center_crop") is not True:
        raise ConfigError(f"{src.file}: do_center_crop false is not implemented (sizes would vary)")
    shortest = _size(src, "shortest_edge")
    if shortest is None:
        raise ConfigError(f"{src.file}: size needs shortest_edge (height/width is not implemented)")
    return FixedSize(
        shortest_edge=shortest,
        crop=_square(src, "crop_size"),
        pad_to_square=_flag(src, "do_pad"),
    )


def _exact_size(src: Settings, base: Profile) -> ResizePolicy:
    """SigLIP: straight to ``size.height × size.width``."""
    size = src.get("size")
    if not isinstance(size, Mapping) or size.get("height") is None or size.get("width") is None:
        raise ConfigError(f"{src.file}: size must be {{height, width}}, got {size!r}")
    return ExactSize(
        _int(src, "size.height", size["height"]), _int(src, "size.width", size["width"])
    )


def _pinpoints(src: Settings) -> tuple[tuple[int, int], ...]:
    pinpoints = src.get("image_grid_pinpoints")
    if not isinstance(pinpoints, list) or not all(
        isinstance(p, list) and len(p) == 2 for p in pinpoints
    ):
        raise ConfigError(f"{src.file}: image_grid_pinpoints must be a list of [h, w] pairs")
    return tuple(
        (_int(src, "image_grid_pinpoints", h), _int(src, "image_grid_pinpoints", w))
        for h, w in pinpoints
    )


def _anyres(src: Settings, base: Profile) -> ResizePolicy:
    """LLaVA-NeXT: ``crop_size`` tiles over the best of ``image_grid_pinpoints``."""
    tile = _square(src, "crop_size")
    if _size(src, "shortest_edge") != tile:
        raise ConfigError(f"{src.file}: size.shortest_edge must equal crop_size ({tile})")
    return AnyRes(tile=tile, pinpoints=_pinpoints(src))


def _onevision_anyres(src: Settings, base: Profile) -> ResizePolicy:
    """LLaVA-OneVision: ``size`` (square) tiles over the best of ``image_grid_pinpoints``; the
    feature cap (``max_tiles``) is the processor's ``vision_aspect_ratio``."""
    tile = _square(src, "size")
    if src.get("do_center_crop") or (src.get("crop_size") and _square(src, "crop_size") != tile):
        raise ConfigError(f"{src.file}: a crop_size other than size is not implemented")
    assert isinstance(base.resize, AnyRes)
    return replace(base.resize, tile=tile, pinpoints=_pinpoints(src))


def _pan_scan(src: Settings, base: Profile) -> ResizePolicy:
    """Gemma 3: every view ``size²``; ``do_pan_and_scan`` adds the crops. The folder's
    ``pan_and_scan_*`` values are never used by transformers 5.24: ``Gemma3Processor`` passes
    its own (256, 4, 1.2) to every call, so other values are refused as ambiguous."""
    assert isinstance(base.resize, PanScan)
    owns = (base.resize.min_crop, base.resize.max_crops, base.resize.min_ratio)
    for key, own in zip(_PAN_SCAN_KEYS, owns, strict=True):
        if src.get(key, own) != own:
            raise ConfigError(
                f"{src.file}: {key}={src.get(key)!r} is not implemented: Gemma3Processor "
                f"replaces it with its own {own!r} unless the call passes it"
            )
    return replace(base.resize, size=_square(src, "size"), enabled=_flag(src, "do_pan_and_scan"))


def _tile_canvas(src: Settings, base: Profile) -> ResizePolicy:
    """Llama 4: ``size`` (square) tiles, at most ``max_patches`` of them, a best-fit canvas."""
    return TileCanvas(
        tile=_square(src, "size"),
        max_tiles=_int(src, "max_patches", src.get("max_patches")),
        to_max=_flag(src, "resize_to_max_canvas"),
    )


def _tile_grid(src: Settings, base: Profile) -> ResizePolicy:
    """InternVL (``GotOcr2ImageProcessor``): ``size`` (square) tiles, ``min_patches`` to
    ``max_patches`` of them. ``crop_to_patches`` is read but always on: ``InternVLProcessor``
    passes its own ``crop_to_patches=True`` to every call, whatever the folder says."""
    return TileGrid(
        tile=_square(src, "size"),
        min_tiles=_int(src, "min_patches", src.get("min_patches")),
        max_tiles=_int(src, "max_patches", src.get("max_patches")),
    )


def _split_grid(src: Settings, base: Profile) -> ResizePolicy:
    """Idefics3 / SmolVLM: longest side to ``size.longest_edge``, ``max_image_size``
    sub-images when ``do_image_splitting``."""
    longest = _size(src, "longest_edge")
    if longest is None:
        raise ConfigError(f"{src.file}: size needs longest_edge (height/width is not implemented)")
    tile = src.get("max_image_size")
    if not isinstance(tile, Mapping) or tile.get("longest_edge") is None:
        raise ConfigError(f"{src.file}: max_image_size must be {{longest_edge}}, got {tile!r}")
    return SplitGrid(
        tile=_int(src, "max_image_size.longest_edge", tile["longest_edge"]),
        longest_edge=longest,
        split=_flag(src, "do_image_splitting"),
    )


def _glm_resize(src: Settings, base: Profile) -> ResizePolicy:
    """GLM-4V: an image bounded as one temporal patch (``temporal_patch_size`` frames), sides
    under the factor scaled up first."""
    policy = _smart_resize(src, base)
    assert isinstance(policy, SmartResize)
    frames = _int(src, "temporal_patch_size", src.get("temporal_patch_size"))
    return replace(policy, frames=frames, upscale=True)


def _flag(src: Settings, key: str) -> bool:
    value = src.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{src.file}: {key} must be true or false, got {value!r}")
    return value


_CLIP_NORM = {
    "image_mean": list(CLIP_MEAN),
    "image_std": list(CLIP_STD),
    "rescale_factor": 1 / 255,
}
_PAN_SCAN_KEYS = (
    "pan_and_scan_min_crop_size",
    "pan_and_scan_max_num_crops",
    "pan_and_scan_min_ratio_to_activate",
)
_ONEVISION_PINPOINTS = LLAVA_ONEVISION.resize.pinpoints  # type: ignore[union-attr]
_HALF_NORM = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3, "rescale_factor": 1 / 255}
_BILINEAR = (2, "bilinear", "BILINEAR", "PILImageResampling.BILINEAR")
_LANCZOS = (1, "lanczos", "LANCZOS", "PILImageResampling.LANCZOS")
_SPLIT_DEFAULTS = {
    **_HALF_NORM,
    "size": {"longest_edge": 4 * 364},
    "max_image_size": {"longest_edge": 364},
    "do_image_splitting": True,
}
# do_pad: pads a batch to its most views (all views are full tiles); return_row_col_info: the
# processor's own request for the grid.
_SPLIT_KEYS = frozenset({"max_image_size", "do_image_splitting", "do_pad", "return_row_col_info"})
_CROP = {
    **_CLIP_NORM,
    "size": {"shortest_edge": 224},
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
}

IMAGE_PROCESSORS: dict[str, ImageRule] = {
    "Qwen2VLImageProcessor": ImageRule(
        _smart_resize,
        {
            **_CLIP_NORM,
            "size": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280},
            "patch_size": 14,
            "merge_size": 2,
            "temporal_patch_size": 2,
        },
        frozenset({"min_pixels", "max_pixels", "patch_size", "merge_size", "temporal_patch_size"}),
    ),
    "PixtralImageProcessor": ImageRule(
        _longest_edge,
        {**_CLIP_NORM, "size": {"longest_edge": 1024}},
        # patch_size: the processor passes its own patch_size × spatial_merge_size instead;
        # do_pad: pads a batch to its largest image (mmtok returns each image unpadded).
        frozenset({"patch_size", "do_pad"}),
        processor="PixtralProcessor",
    ),
    "Glm4vImageProcessor": ImageRule(
        _glm_resize,
        {
            **_CLIP_NORM,
            "size": {"shortest_edge": 112 * 112, "longest_edge": 28 * 28 * 15000},
            "patch_size": 14,
            "merge_size": 2,
            "temporal_patch_size": 2,
        },
        frozenset({"patch_size", "merge_size", "temporal_patch_size"}),
        processor="Glm4vProcessor",
    ),
    "CLIPImageProcessor": ImageRule(_shortest_edge_crop, _CROP, frozenset({"do_pad"})),
    "LlavaImageProcessor": ImageRule(
        _shortest_edge_crop, {**_CROP, "do_pad": False}, frozenset({"do_pad"})
    ),
    "SiglipImageProcessor": ImageRule(
        _exact_size,
        {
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "rescale_factor": 1 / 255,
            "size": {"height": 224, "width": 224},
        },
    ),
    "LlavaNextImageProcessor": ImageRule(
        _anyres,
        {
            **_CROP,
            "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
        },
        # do_pad: pads a batch to its largest number of tiles (mmtok's batch does the same).
        frozenset({"image_grid_pinpoints", "do_pad"}),
        processor="LlavaNextProcessor",
    ),
    "LlavaOnevisionImageProcessor": ImageRule(
        _onevision_anyres,
        {
            **_CLIP_NORM,
            "size": {"height": 384, "width": 384},
            "image_grid_pinpoints": [list(p) for p in _ONEVISION_PINPOINTS],
        },
        # do_pad: pads a batch to its largest number of tiles (mmtok's batch does the same).
        frozenset({"image_grid_pinpoints", "do_pad"}),
        processor="LlavaOnevisionProcessor",
    ),
    "Gemma3ImageProcessor": ImageRule(
        _pan_scan,
        {**_HALF_NORM, "size": {"height": 224, "width": 224}},
        frozenset({"do_pan_and_scan", *_PAN_SCAN_KEYS}),
        processor="Gemma3Processor",
        resample=_BILINEAR,
    ),
    "Llama4ImageProcessor": ImageRule(
        _tile_canvas,
        {**_HALF_NORM, "size": {"height": 336, "width": 336}, "max_patches": 16},
        frozenset({"max_patches", "resize_to_max_canvas"}),
        processor="Llama4Processor",
        resample=_BILINEAR,
    ),
    "GotOcr2ImageProcessor": ImageRule(
        _tile_grid,
        {**_CLIP_NORM, "size": {"height": 384, "width": 384}, "min_patches": 1, "max_patches": 12},
        frozenset({"crop_to_patches", "min_patches", "max_patches"}),
    ),
    "Idefics3ImageProcessor": ImageRule(
        _split_grid, _SPLIT_DEFAULTS, _SPLIT_KEYS, processor="Idefics3Processor", resample=_LANCZOS
    ),
    # video_sampling: SmolVLM2's video settings, saved beside the image ones (video: not read).
    "SmolVLMImageProcessor": ImageRule(
        _split_grid,
        _SPLIT_DEFAULTS,
        _SPLIT_KEYS | {"video_sampling"},
        processor="SmolVLMProcessor",
        resample=_LANCZOS,
    ),
}
"""Image processor class (``Fast``/``Pil`` suffix dropped) → how mmtok reads it."""

# --- audio front ends, one reader per feature extractor class ---------------------------------


@dataclass(frozen=True)
class FeatureRule:
    """How one transformers feature extractor class reads into the profile's log-mel front
    end: ``read`` builds the :class:`MelConfig` from its settings (class ``defaults`` under
    them); ``keys`` it reads; ``fixed`` the settings mmtok implements at one value only;
    ``derived`` keys it saves but recomputes from the others on loading."""

    read: Callable[[Settings, Profile], MelConfig]
    defaults: Config
    keys: frozenset[str] = frozenset()
    fixed: Config = field(default_factory=dict)
    derived: frozenset[str] = frozenset()

    def all_keys(self) -> frozenset[str]:
        return self.keys | frozenset(self.fixed) | self.derived


def _whisper_mel(src: Settings, base: Profile) -> MelConfig:
    """``WhisperFeatureExtractor``: ``feature_size`` mel bins, ``n_fft``, ``hop_length`` at
    ``sampling_rate``, windows of ``chunk_length`` seconds (a whole number of hops)."""
    mel = MelConfig(
        sample_rate=_int(src, "sampling_rate", src.get("sampling_rate")),
        n_fft=_int(src, "n_fft", src.get("n_fft")),
        hop_length=_int(src, "hop_length", src.get("hop_length")),
        n_mels=_int(src, "feature_size", src.get("feature_size")),
        chunk_length=_int(src, "chunk_length", src.get("chunk_length")),
    )
    if mel.window_samples % mel.hop_length:
        raise ConfigError(
            f"{src.file}: chunk_length · sampling_rate ({mel.window_samples}) is not a whole "
            f"number of hop_length ({mel.hop_length}) hops; not implemented by mmtok"
        )
    return mel


def _own_mel(src: Settings, base: Profile) -> MelConfig:
    """A front end mmtok implements at its class defaults only (``FeatureRule.fixed``)."""
    return base.audio_encoder.mel


_WHISPER = {"feature_size": 80, "sampling_rate": 16_000, "hop_length": 160, "chunk_length": 30,
            "n_fft": 400}  # fmt: skip
_FEATURE_FIXED = {"padding_value": 0.0, "padding_side": "right", "dither": 0.0}

FEATURE_EXTRACTORS: dict[str, FeatureRule] = {
    "WhisperFeatureExtractor": FeatureRule(
        _whisper_mel,
        _WHISPER,
        frozenset(_WHISPER),
        _FEATURE_FIXED,
        # recomputed from chunk_length and hop_length; the mask is the processor's choice
        frozenset({"n_samples", "nb_max_frames", "return_attention_mask"}),
    ),
    "Gemma3nAudioFeatureExtractor": FeatureRule(
        _own_mel,
        {},
        fixed={
            **_FEATURE_FIXED,
            "feature_size": 128,
            "sampling_rate": 16_000,
            "frame_length": 512,
            "hop_length": 160,
            "fft_length": 1024,
            "fft_overdrive": True,
            "min_frequency": 125.0,
            "max_frequency": 7600.0,
            "preemphasis": 0.97,
            "preemphasis_htk_flavor": True,
            "input_scale_factor": 1.0,
            "mel_floor": 1e-5,
            "per_bin_mean": None,
            "per_bin_stddev": None,
        },
        derived=frozenset({"return_attention_mask"}),
    ),
}
"""Feature extractor class → how mmtok reads its front end (audio families)."""

# --- processor keys of the families that read their own -------------------------------------


def _onevision_features(profile: Profile, src: Settings) -> Profile:
    """``num_image_tokens`` must be the tile's ``(size / patch)²`` features (the processor
    counts with it, the tower produces the other); ``vision_aspect_ratio`` ``anyres_max_N``
    caps the crop features at ``N`` tiles' worth; several images are one padded tile each."""
    assert isinstance(profile.resize, AnyRes)
    n = profile.resize.tile // profile.patch_size
    features = src.get("num_image_tokens")
    if features is not None and _int(src, "num_image_tokens", features) != n * n:
        raise ConfigError(
            f"{src.file}: num_image_tokens={features} differs from the {n}×{n} features of a "
            f"{profile.resize.tile}² tile at patch {profile.patch_size}"
        )
    ratio = re.fullmatch(r"anyres_max_([1-9][0-9]*)", str(src.get("vision_aspect_ratio")))
    if ratio is None:
        raise ConfigError(
            f"{src.file}: vision_aspect_ratio={src.get('vision_aspect_ratio')!r} is not "
            "implemented (anyres_max_N)"
        )
    tile = profile.resize.tile
    several = profile.several_images and replace(
        profile.several_images, resize=FixedSize(tile, tile, pad_to_square=True)
    )
    return replace(profile.with_options(max_tiles=int(ratio[1])), several_images=several)


def _onevision_video(profile: Profile, src: Settings, base: Profile) -> Profile:
    """``LlavaOnevisionVideoProcessor``: frames resized to ``size`` (``{height, width}``, which
    must be the image tile: the model pools the tower's ``tile / patch`` grid), normalised as
    the images are; ``num_frames`` (uniform) or ``fps`` is the default sampling, never both
    (transformers refuses them together). ``min_frames``/``max_frames`` are not read by its
    sampler, so ``base``'s stay."""
    tile = profile.resize.tile  # type: ignore[union-attr]
    if _flag(src, "do_center_crop"):
        raise ConfigError(f"{src.file}: do_center_crop=true is not implemented by mmtok (video)")
    size = _square(src, "size") if src.get("size") is not None else tile
    if size != tile:
        raise ConfigError(
            f"{src.file}: size {src.get('size')} differs from the image tile ({tile}²); the "
            "model pools the tower's features of a tile-sized frame"
        )
    for key, own in (("image_mean", profile.image_mean), ("image_std", profile.image_std)):
        value = src.get(key)
        if value is not None and _floats(src, key, value) != own:
            raise ConfigError(f"{src.file}: {key}={value} differs from the image processor's")
    factor = src.get("rescale_factor")
    if factor is not None and _float(src, "rescale_factor", factor) != profile.rescale_factor:
        raise ConfigError(f"{src.file}: rescale_factor={factor} differs from the image processor's")
    frames = src.get("num_frames")
    if frames is not None and src.get("fps") is not None:
        raise ConfigError(f"{src.file}: num_frames and fps are mutually exclusive")
    if frames is not None:
        frames = _int(src, "num_frames", frames)
    elif src.get("fps") is None:
        frames = base.video_num_frames
    return replace(
        profile,
        video_size=(size, size),
        video_num_frames=frames,
        video_min_frames=base.video_min_frames,
        video_max_frames=base.video_max_frames,
    )


def _gemma3_views(profile: Profile, src: Settings) -> Profile:
    """``image_seq_length`` soft tokens per view: the ``(size / patch)²`` grid average-pooled
    to a square of that many (``merge_size`` its side ratio); other values are refused."""
    assert isinstance(profile.resize, PanScan)
    seq = _int(src, "image_seq_length", src.get("image_seq_length"))
    side, grid = math.isqrt(seq), profile.resize.size // profile.patch_size
    if side * side != seq or grid % side or profile.resize.size % profile.patch_size:
        raise ConfigError(
            f"{src.file}: image_seq_length={seq} is not a square pooling of the "
            f"{profile.resize.size}² view's {grid}×{grid} patches"
        )
    return replace(profile, merge_size=grid // side)


def _view_tokens(key: str) -> Callable[[Profile, Settings], Profile]:
    """A finish reading ``key``: the tokens per tile (InternVL's ``image_seq_length``,
    Idefics3 / SmolVLM's ``image_seq_len``), which must be the tile's ``tile // patch``
    patches merged to a square (pixel shuffle); ``merge_size`` is set from it."""

    def finish(profile: Profile, src: Settings) -> Profile:
        tile = profile.resize.tile  # type: ignore[union-attr]
        seq, grid = _int(src, key, src.get(key)), tile // profile.patch_size
        side = math.isqrt(seq)
        if side * side != seq or grid % side:
            raise ConfigError(
                f"{src.file}: {key}={seq} is not a square merge of a {tile}² tile's "
                f"{grid}×{grid} patches (patch {profile.patch_size})"
            )
        return replace(profile, merge_size=grid // side)

    return finish


_LLAMA4_TOKENS = {
    "fake_image_token": "<|image|>",
    "image_token": "<|image|>",
    "start_of_image_token": "<|image_start|>",
    "end_of_image_token": "<|image_end|>",
    "patch_token": "<|patch|>",
    "tile_x_separator_token": "<|tile_x_separator|>",
    "tile_y_separator_token": "<|tile_y_separator|>",
}


def _llama4_tiles(profile: Profile, src: Settings) -> Profile:
    """Pixel shuffle ``pixel_shuffle_ratio`` r: ``round(1 / r²)`` patches per token (a square
    ``merge_size``); the token keys at their defaults only, since the processor writes the
    default strings into the sequence whatever they say."""
    for key, own in _LLAMA4_TOKENS.items():
        if src.get(key, own) != own:
            raise ConfigError(
                f"{src.file}: {key}={src.get(key)!r} is not implemented (Llama4Processor "
                f"writes {own!r})"
            )
    ratio = src.get("pixel_shuffle_ratio")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        raise ConfigError(f"{src.file}: pixel_shuffle_ratio must be in (0, 1], got {ratio!r}")
    down = round(1 / ratio**2)
    if math.isqrt(down) ** 2 != down:
        raise ConfigError(f"{src.file}: pixel_shuffle_ratio={ratio} is not a square merge")
    return replace(profile, merge_size=math.isqrt(down))


def _gemma3n(profile: Profile, src: Settings) -> Profile:
    """Gemma 3n: one ``size²`` view (``SiglipImageProcessor``'s square ``size``) of
    ``image_seq_length`` soft tokens — the MobileNet's square output grid — and
    ``audio_seq_length`` soft tokens per audio clip, as ``Gemma3nProcessor`` writes them."""
    size = profile.resize
    if not isinstance(size, ExactSize) or size.height != size.width:
        raise ConfigError(f"{src.file}: Gemma3nProcessor's image size must be a square")
    seq = _int(src, "image_seq_length", src.get("image_seq_length"))
    side = math.isqrt(seq)
    if side * side != seq or size.height % side:
        raise ConfigError(f"{src.file}: image_seq_length={seq} is not a square grid over the view")
    audio = _int(src, "audio_seq_length", src.get("audio_seq_length"))
    return replace(
        profile,
        resize=PanScan(size=size.height),
        patch_size=size.height // side,
        merge_size=1,
        audio_encoder=replace(profile.audio_encoder, fixed_tokens=audio),
    )


_QWEN_KEYS = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"}
# Qwen2VLVideoProcessor saves max_video_tokens (used only with cap_pixels_per_frame, which
# stays refused for Qwen2-VL / 2.5-VL: their cap is not implemented).
_QWEN2_VIDEO = frozenset({"max_video_tokens"})
_LLAVA_KEYS = {
    "patch_size": None,  # no default: transformers fails without it, mmtok keeps the preset's
    "num_additional_image_tokens": 0,
    "vision_feature_select_strategy": None,
    "image_token": "<image>",
}

_QWEN_AUDIO_TOKENS = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}
_QWEN_AUDIO_ROLES = {"audio_token": "audio", "audio_bos_token": "audio_start",
                     "audio_eos_token": "audio_end"}  # fmt: skip
_WHISPER_FE = ("WhisperFeatureExtractor",)

PROCESSORS: dict[str, ProcessorRule] = {
    "Qwen2AudioProcessor": ProcessorRule(
        QWEN2_AUDIO,
        (),
        _QWEN_AUDIO_TOKENS,
        token_keys=_QWEN_AUDIO_ROLES,
        feature_extractors=_WHISPER_FE,
    ),
    # Qwen2.5-Omni reads its tokens from the tokenizer; every call passes its own video size.
    "Qwen2_5OmniProcessor": ProcessorRule(
        QWEN2_5_OMNI,
        ("Qwen2VLImageProcessor",),
        video_keys=_QWEN2_VIDEO | {"cap_pixels_per_frame"},
        feature_extractors=_WHISPER_FE,
        video_fixed={"size": {"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28}},
    ),
    "VoxtralProcessor": ProcessorRule(
        VOXTRAL, (), feature_extractors=_WHISPER_FE, audio_from_folder=False
    ),
    "Gemma3nProcessor": ProcessorRule(
        GEMMA3N,
        ("SiglipImageProcessor",),
        {"image_seq_length": 256, "audio_seq_length": 188},
        finish=_gemma3n,
        feature_extractors=("Gemma3nAudioFeatureExtractor",),
    ),
    "Qwen2VLProcessor": ProcessorRule(
        QWEN2_VL, ("Qwen2VLImageProcessor",), _QWEN_KEYS, video_keys=_QWEN2_VIDEO
    ),
    "Qwen2_5_VLProcessor": ProcessorRule(
        QWEN2_5_VL, ("Qwen2VLImageProcessor",), _QWEN_KEYS, video_keys=_QWEN2_VIDEO
    ),
    # Qwen3-VL and GLM-4V processors read their tokens from the tokenizer, no constructor keys.
    "Qwen3VLProcessor": ProcessorRule(
        QWEN3_VL,
        ("Qwen2VLImageProcessor",),
        video_keys=frozenset({"cap_pixels_per_frame", "max_video_tokens"}),
    ),
    # Glm4vVideoProcessor stores num_frames and max_image_size but samples and resizes
    # without them.
    "Glm4vProcessor": ProcessorRule(
        GLM4V,
        ("Glm4vImageProcessor",),
        video_keys=frozenset({"max_duration", "num_frames", "max_image_size"}),
    ),
    "LlavaProcessor": ProcessorRule(
        LLAVA_1_5,
        ("CLIPImageProcessor", "LlavaImageProcessor", "SiglipImageProcessor"),
        _LLAVA_KEYS,
    ),
    "LlavaNextProcessor": ProcessorRule(LLAVA_NEXT, ("LlavaNextImageProcessor",), _LLAVA_KEYS),
    "LlavaOnevisionProcessor": ProcessorRule(
        LLAVA_ONEVISION,
        ("LlavaOnevisionImageProcessor",),
        {
            "num_image_tokens": None,
            "vision_feature_select_strategy": None,
            "image_token": "<image>",
            "video_token": "<video>",
            "vision_aspect_ratio": "anyres_max_9",
        },
        video_keys=frozenset({"num_frames"}),
        finish=_onevision_features,
        video_finish=_onevision_video,
    ),
    "Gemma3Processor": ProcessorRule(
        GEMMA3, ("Gemma3ImageProcessor",), {"image_seq_length": 256}, finish=_gemma3_views
    ),
    "Llama4Processor": ProcessorRule(
        LLAMA4,
        ("Llama4ImageProcessor",),
        {"patch_size": 14, "pixel_shuffle_ratio": 0.5, **_LLAMA4_TOKENS},
        token_keys={},  # the processor writes its default strings whatever these say
        finish=_llama4_tiles,
    ),
    "InternVLProcessor": ProcessorRule(
        INTERNVL3,
        ("GotOcr2ImageProcessor",),
        {"image_seq_length": 256},
        finish=_view_tokens("image_seq_length"),
        frame_views=True,
    ),
    "Idefics3Processor": ProcessorRule(
        IDEFICS3,
        ("Idefics3ImageProcessor",),
        {"image_seq_len": 169},
        finish=_view_tokens("image_seq_len"),
        vision_patch=32,  # Idefics3VisionConfig / SmolVLMVisionConfig default
    ),
    "SmolVLMProcessor": ProcessorRule(
        SMOLVLM,
        ("SmolVLMImageProcessor",),
        {"image_seq_len": 169},
        finish=_view_tokens("image_seq_len"),
        vision_patch=32,  # Idefics3VisionConfig / SmolVLMVisionConfig default
        frame_views=True,
    ),
    "PixtralProcessor": ProcessorRule(
        MISTRAL3,
        ("PixtralImageProcessor",),
        {
            "patch_size": 16,
            "spatial_merge_size": 1,
            "image_token": "[IMG]",
            "image_break_token": "[IMG_BREAK]",
            "image_end_token": "[IMG_END]",
        },
    ),
}
"""Processor class → the family it is, the image processors it pairs with and the
``processor_config.json`` keys it reads, with its constructor's defaults."""

MODEL_TYPES: dict[str, tuple[str, str]] = {
    "qwen2_audio": ("Qwen2AudioProcessor", ""),
    "qwen2_5_omni": ("Qwen2_5OmniProcessor", "Qwen2VLImageProcessor"),
    "qwen2_5_omni_thinker": ("Qwen2_5OmniProcessor", "Qwen2VLImageProcessor"),
    "voxtral": ("VoxtralProcessor", ""),
    "gemma3n": ("Gemma3nProcessor", "SiglipImageProcessor"),
    "qwen2_vl": ("Qwen2VLProcessor", "Qwen2VLImageProcessor"),
    "qwen2_5_vl": ("Qwen2_5_VLProcessor", "Qwen2VLImageProcessor"),
    # a vision tower saved on its own (its config names the tower, not the whole model)
    "qwen2_vl_vision": ("Qwen2VLProcessor", "Qwen2VLImageProcessor"),
    "qwen2_5_vl_vision": ("Qwen2_5_VLProcessor", "Qwen2VLImageProcessor"),
    # a bare CLIP / SigLIP tower is read as the LLaVA layout around it (one token per patch)
    "clip_vision_model": ("LlavaProcessor", "CLIPImageProcessor"),
    "siglip_vision_model": ("LlavaProcessor", "SiglipImageProcessor"),
    "qwen3_vl": ("Qwen3VLProcessor", "Qwen2VLImageProcessor"),
    "qwen3_vl_moe": ("Qwen3VLProcessor", "Qwen2VLImageProcessor"),
    "glm4v": ("Glm4vProcessor", "Glm4vImageProcessor"),
    "glm4v_moe": ("Glm4vProcessor", "Glm4vImageProcessor"),
    "llava": ("LlavaProcessor", "CLIPImageProcessor"),
    "llava_next": ("LlavaNextProcessor", "LlavaNextImageProcessor"),
    "mistral3": ("PixtralProcessor", "PixtralImageProcessor"),
    "llava_onevision": ("LlavaOnevisionProcessor", "LlavaOnevisionImageProcessor"),
    "gemma3": ("Gemma3Processor", "Gemma3ImageProcessor"),
    "llama4": ("Llama4Processor", "Llama4ImageProcessor"),
    "internvl": ("InternVLProcessor", "GotOcr2ImageProcessor"),
    "idefics3": ("Idefics3Processor", "Idefics3ImageProcessor"),
    "smolvlm": ("SmolVLMProcessor", "SmolVLMImageProcessor"),
}
"""``config.json`` model type → the (processor, image processor) classes transformers' Auto
classes use for it; only consulted for what the folder's processor files do not name."""

# --- settings every image / video processor shares --------------------------------------------

_BICUBIC = (3, "bicubic", "BICUBIC", "PILImageResampling.BICUBIC")
REQUIRED: dict[str, tuple[object, ...]] = {
    "do_resize": (True,),
    "do_rescale": (True,),
    "do_normalize": (True,),
    "do_convert_rgb": (True,),
    "resample": _BICUBIC,
    "data_format": ("channels_first",),
    "input_data_format": (),
}
"""Settings mmtok implements at one value only (``null``, the class default, always passes)."""

SHARED_IMAGE_KEYS = frozenset(
    {"size", "crop_size", "do_center_crop", "image_mean", "image_std", "rescale_factor"}
)
INERT_KEYS = frozenset(
    {
        "image_processor_type",
        "video_processor_type",
        "feature_extractor_type",
        "processor_class",
        "_processor_class",
        "auto_map",
        "return_tensors",
        "device",
        "disable_grouping",
        "aspect_ratio_setting",  # LLaVA-NeXT legacy key that no processor reads
        "video_metadata",
        "return_metadata",
        "do_sample_frames",  # mmtok always samples (``--sampling``); the rule below is its own
        "default_to_square",
    }
)
"""Keys that change nothing mmtok computes (labels, tensor types, devices, batching)."""

VIDEO_KEYS: dict[str, str] = {
    "min_pixels": "video_min_pixels",
    "max_pixels": "video_max_pixels",
    "min_frames": "video_min_frames",
    "max_frames": "video_max_frames",
    "fps": "video_fps",
}
"""Video processor settings → the :class:`Profile` fields they set."""

_PROCESSOR_INERT = frozenset(
    {
        "processor_class",
        "chat_template",
        "auto_map",
        "image_processor",
        "video_processor",
        "feature_extractor",
    }
)
_TOKEN_KEYS = {
    "image_token": "image",
    "image_break_token": "image_break",
    "image_end_token": "image_end",
    "video_token": "video",
}


def _active(value: Any) -> bool:
    return value is not None and value is not False and value != {} and value != []


def _check_keys(src: Settings, known: frozenset[str]) -> None:
    """Refuse a setting mmtok would otherwise ignore, or one it implements at another value."""
    for key, value in src.data.items():
        if value is None or key in INERT_KEYS or key in known:
            continue
        if key in REQUIRED:
            if value not in REQUIRED[key]:
                raise ConfigError(
                    f"{src.file}: {key}={value!r} is not implemented by mmtok "
                    f"(it implements {' or '.join(map(repr, REQUIRED[key])) or 'only null'})"
                )
        elif _active(value):
            raise ConfigError(f"{src.file}: {key}={value!r} is not implemented by mmtok")


# --- reading the folder -----------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _nested(folder: Path, proc: dict[str, Any], key: str, *files: str) -> Settings:
    """transformers' lookup order: ``processor_config.json``'s nested ``key``, then ``files``."""
    if isinstance(proc.get(key), dict):
        return Settings(proc[key], str(folder / f"processor_config.json ({key})"))
    for name in files:
        if (folder / name).exists():
            return Settings(_read_json(folder / name), str(folder / name))
    return Settings({}, str(folder / files[0]))


def _class_name(value: Any) -> str:
    return str(value or "").removesuffix("Fast").removesuffix("Pil")


def _classes(folder: Path, config: Settings, proc: Settings, image: Settings) -> tuple[str, str]:
    """``(processor, image processor)`` class names: the folder's own names first,
    ``model_type`` for what they omit; errors name the file that named each."""
    model_type = str(config.get("model_type", ""))
    by_type = MODEL_TYPES.get(model_type, ("", ""))
    image_cls, image_file = _class_name(image.get("image_processor_type")), image.file
    if not image_cls:
        image_cls, image_file = by_type[1], f"{config.file} (model_type={model_type!r})"
    if image_cls and image_cls not in IMAGE_PROCESSORS:
        raise ConfigError(
            f"{image_file}: image_processor_type {image_cls!r} is not supported "
            f"(supported: {', '.join(sorted(IMAGE_PROCESSORS))})"
        )
    for src in (proc, image):
        if src.get("processor_class"):
            processor, proc_file = _class_name(src.get("processor_class")), src.file
            break
    else:
        implied = IMAGE_PROCESSORS[image_cls].processor if image_cls else None
        processor, proc_file = implied or by_type[0], image_file if implied else config.file
    if not processor:
        raise ConfigError(
            f"{folder}: cannot tell the model family: no processor_class, "
            f"image_processor_type or known model_type ({model_type!r}); "
            f"supported processors: {', '.join(sorted(PROCESSORS))}"
        )
    if processor not in PROCESSORS:
        raise ConfigError(
            f"{proc_file}: processor_class {processor!r} is not supported "
            f"(supported: {', '.join(sorted(PROCESSORS))})"
        )
    rule = PROCESSORS[processor]
    image_cls = image_cls or (rule.image_processors[0] if rule.image_processors else "")
    if (image_cls or rule.image_processors) and image_cls not in rule.image_processors:
        raise ConfigError(
            f"{image_file}: image_processor_type {image_cls!r} is not used with {processor} "
            f"({proc_file}); it uses {', '.join(rule.image_processors) or 'no image processor'}"
        )
    return processor, image_cls


def _floats(src: Settings, key: str, value: Any) -> tuple[float, float, float]:
    """Three finite numbers (``image_mean`` / ``image_std``, per RGB channel)."""
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ConfigError(f"{src.file}: {key} must be a list of 3 numbers, got {value!r}")
    a, b, c = (_float(src, key, v, positive=key != "image_mean") for v in value)
    return a, b, c


def _image_changes(src: Settings, rule: ImageRule, base: Profile) -> dict[str, Any]:
    """The profile fields an image processor's settings set (its class defaults under them)."""
    known = SHARED_IMAGE_KEYS | rule.keys
    if rule.resample is not None:
        known |= {"resample"}
        if src.data.get("resample") not in (None, *rule.resample):
            raise ConfigError(
                f"{src.file}: resample={src.data['resample']!r} is not implemented by mmtok "
                f"(it implements {' or '.join(map(repr, rule.resample))})"
            )
    _check_keys(src, known)
    full = Settings(
        {**rule.defaults, **{k: v for k, v in src.data.items() if v is not None}}, src.file
    )
    changes: dict[str, Any] = {"resize": rule.policy(full, base)}
    for key in ("image_mean", "image_std"):
        changes[key] = _floats(src, key, full.get(key))
    changes["rescale_factor"] = _float(src, "rescale_factor", full.get("rescale_factor"))
    for key in ("patch_size", "merge_size", "temporal_patch_size"):  # Profile field names
        value = full.get(key) if key in rule.keys else None
        if isinstance(value, Mapping):  # {"height": p, "width": p}
            value = value.get("height") if value.get("height") == value.get("width") else value
        if value is not None:
            changes[key] = _int(src, key, value)
    return changes


def _video_changes(
    src: Settings, image_rule: ImageRule, profile: Profile, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Video limits and sampling bounds of a video processor dict (or the image processor's,
    which transformers falls back to); patch, merge and temporal size must match the image's.
    ``extra``: the family's own video keys (Qwen3-VL's per-frame cap, GLM-4V's span)."""
    _check_keys(src, SHARED_IMAGE_KEYS | image_rule.keys | frozenset(VIDEO_KEYS) | extra)
    changes: dict[str, Any] = {}
    if "cap_pixels_per_frame" in extra:
        cap = _int(src, "max_video_tokens", src.get("max_video_tokens", 768))
        changes["video_cap_tokens"] = cap if _flag(src, "cap_pixels_per_frame") else None
    if "max_duration" in extra and src.get("max_duration") is not None:
        changes["video_max_seconds"] = float(_int(src, "max_duration", src.get("max_duration")))
    lo = src.get("min_pixels") or _size(src, "shortest_edge") if src.data else None
    hi = src.get("max_pixels") or _size(src, "longest_edge") if src.data else None
    for key, value in (("min_pixels", lo), ("max_pixels", hi)):
        if value is not None:
            changes[VIDEO_KEYS[key]] = _int(src, key, value)
    for key in ("min_frames", "max_frames"):
        if src.get(key) is not None:
            changes[VIDEO_KEYS[key]] = _int(src, key, src.get(key))
    if src.get("fps") is not None:
        changes["video_fps"] = _float(src, "fps", src.get("fps"))
    for key, own in (
        ("patch_size", profile.patch_size),
        ("merge_size", profile.merge_size),
        ("temporal_patch_size", profile.temporal_patch_size),
    ):
        if src.get(key) is not None and _int(src, key, src.get(key)) != own:
            raise ConfigError(
                f"{src.file}: {key}={src.get(key)} differs from the image processor's ({own}); "
                "mmtok implements one value for both"
            )
    return changes


_MEL_KEYS = {"sample_rate": "sampling_rate", "n_fft": "n_fft", "hop_length": "hop_length",
             "n_mels": "feature_size", "chunk_length": "chunk_length"}  # fmt: skip


def _audio_changes(
    src: Settings, feature: FeatureRule, rule: ProcessorRule, base: Profile
) -> dict[str, Any]:
    """The audio encoder a feature extractor's settings give (its class defaults under
    them); a setting mmtok does not implement is refused naming the file and key."""
    for key, value in src.data.items():
        if value is None or key in INERT_KEYS or key in feature.keys or key in feature.derived:
            continue
        if key in feature.fixed:
            if value != feature.fixed[key]:
                raise ConfigError(
                    f"{src.file}: {key}={value!r} is not implemented by mmtok "
                    f"(it implements {feature.fixed[key]!r})"
                )
        elif _active(value):
            raise ConfigError(f"{src.file}: {key}={value!r} is not implemented by mmtok")
    given = {k: v for k, v in src.data.items() if v is not None}
    mel = feature.read(Settings({**feature.defaults, **given}, src.file), base)
    own = base.audio_encoder.mel
    if not rule.audio_from_folder and mel != own:
        name = next(f for f in _MEL_KEYS if getattr(mel, f) != getattr(own, f))
        raise ConfigError(
            f"{src.file}: {_MEL_KEYS[name]}={getattr(mel, name)!r} is not implemented: "
            f"{base.name} counts tokens by its own audio settings ({getattr(own, name)!r})"
        )
    return {"audio_encoder": replace(base.audio_encoder, mel=mel)}


def _feature_class(src: Settings, rule: ProcessorRule, processor: str) -> FeatureRule:
    """The feature extractor ``src`` names (``feature_extractor_type``), or the processor's
    own when it names none; one the processor is never used with is refused."""
    name = _class_name(src.get("feature_extractor_type")) or rule.feature_extractors[0]
    if name not in rule.feature_extractors:
        raise ConfigError(
            f"{src.file}: feature_extractor_type {name!r} is not used with {processor}; it "
            f"uses {', '.join(rule.feature_extractors)}"
        )
    return FEATURE_EXTRACTORS[name]


def _split(src: Settings, keys: frozenset[str]) -> tuple[Settings, Settings]:
    """One settings file read by two classes (a legacy ``preprocessor_config.json`` holding
    the image processor's and the feature extractor's keys): ``(keys'', the rest)``."""
    mine = {k: v for k, v in src.data.items() if k in keys}
    rest = {k: v for k, v in src.data.items() if k not in keys}
    return Settings(mine, src.file), Settings(rest, src.file)


_FRAME_VIDEO_KEYS = frozenset(
    {"resample", "fps", "num_frames", "initial_shift", "video_sampling", "max_image_size", "do_pad"}
)


def _frame_video_changes(
    src: Settings, image_rule: ImageRule, profile: Profile, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """InternVL / SmolVLM video processors: every frame is one view of the image tile's
    size (InternVL: a square ``size``; SmolVLM: ``max_image_size``, after ``size``'s
    longest-edge resize, which moves pixels only), anything else is refused; ``fps`` and
    ``num_frames`` (SmolVLM: ``video_sampling``'s ``fps`` and ``max_frames`` first, as its
    constructor reads them) set the sampling rate and the frame cap. ``resample`` changes
    only pixels, which mmtok does not load for these families."""
    _check_keys(src, SHARED_IMAGE_KEYS | image_rule.keys | _FRAME_VIDEO_KEYS | extra)
    tile = profile.resize.tile  # type: ignore[union-attr]
    if src.get("initial_shift", True) is not True:
        shift = src.get("initial_shift")
        raise ConfigError(f"{src.file}: initial_shift={shift!r} is not implemented")
    views, size = src.get("max_image_size"), src.get("size")
    if isinstance(views, Mapping):  # SmolVLM: frames squared to max_image_size
        side = _int(src, "max_image_size.longest_edge", views.get("longest_edge"))
    elif isinstance(size, Mapping) and "height" in size:  # InternVL: frames resized to size
        side = _square(src, "size")
    elif not src.data:  # no video settings at all: the image processor's, as transformers
        side = tile
    else:
        raise ConfigError(f"{src.file}: the frame size (size or max_image_size) is missing")
    if side != tile:
        raise ConfigError(
            f"{src.file}: video frames of {side}² differ from the image tile ({tile}²); "
            "mmtok implements frames at the tile size"
        )
    sampling = src.get("video_sampling", {})
    fps = sampling.get("fps", src.get("fps")) if isinstance(sampling, Mapping) else src.get("fps")
    cap = sampling.get("max_frames", src.get("num_frames")) if isinstance(
        sampling, Mapping) else src.get("num_frames")  # fmt: skip
    changes: dict[str, Any] = {"video_size": (tile, tile)}
    if fps is not None:
        changes["video_fps"] = _float(src, "fps", fps)
    if cap is not None:
        changes["video_max_frames"] = _int(src, "num_frames", cap)
    return changes


def _processor_changes(src: Settings, rule: ProcessorRule, base: Profile) -> dict[str, Any]:
    """Token rules of ``processor_config.json``, with the processor's constructor defaults
    for the keys it omits (transformers' behaviour, also when the file is absent). A key
    another registered processor reads is ignored, as this one ignores it; any other set key
    is refused."""
    known = {k for r in PROCESSORS.values() for k in r.keys}
    for key, value in src.data.items():
        if key not in known and key not in _PROCESSOR_INERT and _active(value):
            raise ConfigError(f"{src.file}: {key}={value!r} is not implemented by mmtok")
    data = {k: v for k, v in {**rule.keys, **src.data}.items() if k in rule.keys and v is not None}
    changes: dict[str, Any] = {}
    if "patch_size" in data:
        changes["patch_size"] = _int(src, "patch_size", data["patch_size"])
    if "spatial_merge_size" in data and base.merge_from_folder:
        changes["merge_size"] = _int(src, "spatial_merge_size", data["spatial_merge_size"])
    if "num_additional_image_tokens" in data:
        extra = data["num_additional_image_tokens"]
        if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
            raise ConfigError(f"{src.file}: num_additional_image_tokens must be ≥ 0, got {extra!r}")
        changes["num_additional_tokens"] = extra
    if "vision_feature_select_strategy" in rule.keys:
        strategy = data.get("vision_feature_select_strategy")
        if strategy not in ("default", "full", None):
            raise ConfigError(
                f"{src.file}: vision_feature_select_strategy={strategy!r} is not implemented "
                "(default or full)"
            )
        changes["drop_cls"] = strategy == "default"
    tokens = {}
    for key, role in (_TOKEN_KEYS if rule.token_keys is None else rule.token_keys).items():
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise ConfigError(f"{src.file}: {key} must be a token string, got {data[key]!r}")
            tokens[role] = data[key]
    if tokens:
        changes["tokens"] = replace(base.tokens, **tokens)
    return changes


def profile_from_folder(folder: Path) -> Profile:
    """The profile of the model stored in ``folder`` (local files only)."""
    config = Settings(_read_json(folder / "config.json"), str(folder / "config.json"))
    proc_data = _read_json(folder / "processor_config.json")
    proc = Settings(proc_data, str(folder / "processor_config.json"))
    image = _nested(folder, proc_data, "image_processor", "preprocessor_config.json")
    if not config.data and not proc.data and not image.data:
        raise ConfigError(
            f"{folder}: no config.json, processor_config.json or preprocessor_config.json found"
        )
    processor, image_cls = _classes(folder, config, proc, image)
    rule, image_rule = PROCESSORS[processor], IMAGE_PROCESSORS.get(image_cls)
    base = rule.profile
    vision = config.get("vision_config", {})
    if not isinstance(vision, Mapping):
        raise ConfigError(f"{config.file}: vision_config must be an object, got {vision!r}")
    changes: dict[str, Any] = {"name": f"{base.name}@{folder.name}", "source": str(folder)}
    if rule.feature_extractors:  # audio: the feature extractor's front end
        features = _nested(folder, proc_data, "feature_extractor", "preprocessor_config.json")
        feature = _feature_class(features, rule, processor)
        if features.file == image.file:  # one legacy file for both
            features, image = _split(image, feature.all_keys() | {"feature_extractor_type"})
        changes.update(_audio_changes(features, feature, rule, base))
    if image.data or proc.data:
        if image_rule is not None:
            changes.update(_image_changes(image, image_rule, base))
        changes.update(_processor_changes(proc, rule, base))
    elif vision.get("patch_size"):  # only config.json: the family preset, the tower's patch
        changes["patch_size"] = _int(config, "vision_config.patch_size", vision["patch_size"])
    if rule.vision_patch is not None and config.data:
        patch = vision.get("patch_size", rule.vision_patch)
        changes["patch_size"] = _int(config, "vision_config.patch_size", patch)
    if vision.get("tokens_per_second") is not None:
        tps = vision["tokens_per_second"]
        changes["tokens_per_second"] = _float(config, "vision_config.tokens_per_second", tps)
    if base.audio_in_video_chunk is not None:  # Qwen2.5-Omni: the thinker's time positions
        changes["tokens_per_second"] = base.tokens_per_second  # not its tower's
        thinker = config.get("thinker_config", config.data)
        if not isinstance(thinker, Mapping):
            raise ConfigError(f"{config.file}: thinker_config must be an object, got {thinker!r}")
        for key, own in (("position_id_per_seconds", base.tokens_per_second),
                         ("seconds_per_chunk", base.audio_in_video_chunk)):  # fmt: skip
            if thinker.get(key) is not None and thinker[key] != own:
                raise ConfigError(
                    f"{config.file}: {key}={thinker[key]!r} is not implemented: the model "
                    f"positions by it but {processor} lays tokens out by its own {own!r}"
                )
    profile = replace(base, **changes)
    if rule.finish is not None and (image.data or proc.data):
        given = {k: v for k, v in proc.data.items() if k in rule.keys and v is not None}
        profile = rule.finish(profile, Settings({**rule.keys, **given}, proc.file))
    if "video" in base.modalities:
        video = _nested(
            folder, proc_data, "video_processor",
            "video_preprocessor_config.json", "preprocessor_config.json",
        )  # fmt: skip
        assert image_rule is not None
        read = _frame_video_changes if rule.frame_views else _video_changes
        profile = replace(profile, **read(video, image_rule, profile, rule.video_keys))
        limits = (profile.video_min_pixels, profile.video_max_pixels)
        if rule.video_fixed and limits != (base.video_min_pixels, base.video_max_pixels):
            raise ConfigError(
                f"{video.file}: video size {limits} is not implemented: {processor} passes "
                f"its own {rule.video_fixed} to every call"
            )
        if rule.video_finish is not None:
            profile = rule.video_finish(profile, video, base)
    source = str(folder / "config.json")
    llm = llm_from_config(config.data, base.llm, folder.name, source)
    tower = base.vision and vision_from_config(config.data, base.vision, folder.name, source)
    return replace(profile, llm=llm, vision=tower)
