"""Vision towers loaded from a local Hugging Face folder, returning raster patch features.

One ``VisionTower`` serves CLIP, SigLIP and Qwen2-VL; what differs between them is data
(``TowerFamily``): the transformers class, the leading non-patch tokens, whether inputs are
flattened patches, and how the vision weights are named inside a full checkpoint. Features
always come back as (B, N, D) in raster (t, h, w) order, ready for ``TokenSet.from_grid``.
Loading never touches the network (``local_files_only=True``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from einops import rearrange
from PIL import Image
from torch import Tensor, nn

from mmtok.compress.tokenset import Grid
from mmtok.errors import ConfigError
from mmtok.image.policies import SmartResize

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile

WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")
_CONFIG_NOISE = frozenset(
    {
        "_name_or_path",
        "transformers_version",
        "architectures",
        "output_hidden_states",
        "output_attentions",
        "return_dict",
    }
)
"""Config keys that do not change what the tower computes; left out of the identity."""


@dataclass(frozen=True)
class TowerFamily:
    """How one family's vision tower is found, loaded and called."""

    name: str
    model_types: tuple[str, ...]  # config.json model_type values: full model, vision-only
    model_class: str  # "module:Class" in transformers
    leading: int = 0  # non-patch tokens before the patches ([CLS])
    flattened: bool = False  # takes (ΣN, C·T·p·p) patches + grid_thw instead of (B, C, H, W)
    key_mapping: tuple[tuple[str, str], ...] = ()  # checkpoint key regex → model key


FAMILIES = (
    TowerFamily("clip", ("clip", "clip_vision_model"), "transformers:CLIPVisionModel", leading=1),
    TowerFamily("siglip", ("siglip", "siglip_vision_model"), "transformers:SiglipVisionModel"),
    TowerFamily(
        "qwen2_vl",
        ("qwen2_vl", "qwen2_vl_vision"),
        "transformers.models.qwen2_vl.modeling_qwen2_vl:Qwen2VisionTransformerPretrainedModel",
        flattened=True,
        # A full Qwen2-VL checkpoint stores the tower under "visual." (older saves) or
        # "model.visual."; without this mapping transformers silently loads nothing.
        key_mapping=((r"^(model\.)?visual\.", ""),),
    ),
)


def family_of(model_type: str) -> TowerFamily:
    """The family whose config ``model_type`` this is; ConfigError if none."""
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    known = ", ".join(t for f in FAMILIES for t in f.model_types)
    raise ConfigError(f"model_type {model_type!r}: no vision tower for it (known: {known})")


def _canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, default=str).encode()


def identity_digest(family: str, config: dict[str, Any], model: nn.Module, extra: bytes) -> str:
    """sha256 over family, config (minus bookkeeping keys), every tensor's name, dtype, shape
    and bytes, and ``extra`` (the preprocessor config): equal digests, equal features."""
    digest = hashlib.sha256(family.encode())
    digest.update(_canonical_json({k: v for k, v in config.items() if k not in _CONFIG_NOISE}))
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    digest.update(extra)
    return digest.hexdigest()


def window_to_raster(x: Tensor, grid: Grid, merge: int) -> Tensor:
    """Qwen2-VL orders patches by merge window; put them in raster order.

    (T·H·W, D) with the m×m patches of each window consecutive → (T·H·W, D) row by row.
    """
    t, h, w = grid
    return rearrange(
        x, "(t h w p q) d -> (t h p w q) d", t=t, h=h // merge, w=w // merge, p=merge, q=merge
    )


@dataclass(frozen=True)
class VisionTower:
    """A loaded vision tower: ``features`` gives raster patch features (B, N, D)."""

    model: nn.Module
    family: TowerFamily
    identity: str  # sha256 hex of config + weights (+ preprocessor config), computed at load
    processor: Any | None  # the folder's transformers image processor, if it has one
    folder: Path

    @property
    def name(self) -> str:
        """What a person calls it: ``clip (clip-vit-large)`` — the family and the folder."""
        return f"{self.family.name} ({self.folder.resolve().name})"

    @property
    def patch_size(self) -> int:
        return int(self.model.config.patch_size)

    @property
    def merge_size(self) -> int:
        """Spatial merge of the tower's own merger (Qwen2-VL: 2), 1 when it has none."""
        return int(getattr(self.model.config, "spatial_merge_size", 1))

    def grid(self, pixel_values: Tensor, grid_thw: Tensor | None = None) -> Grid:
        """(T, H, W) patch grid of one image's features (before any merge)."""
        if self.family.flattened:
            t, h, w = (int(v) for v in _require_grid(grid_thw)[0])
            return t, h, w
        p = self.patch_size
        return 1, pixel_values.shape[-2] // p, pixel_values.shape[-1] // p

    @torch.no_grad()
    def features(
        self,
        pixel_values: Tensor,
        grid_thw: Tensor | None = None,
        layer: int | None = None,
        merged: bool = False,
    ) -> Tensor:
        """Patch features (B, N, D) in raster order, [CLS] dropped.

        CLIP/SigLIP: ``pixel_values`` (B, 3, H, W). Qwen2-VL: flattened patches (ΣN, C·T·p·p)
        and ``grid_thw`` (B, 3) as its processor returns them; all images must share one grid
        to stack. ``layer`` picks a hidden state (LLaVA uses -2); None is the final output.
        ``merged`` (Qwen2-VL) returns the merger's output (B, N/m², D_llm) instead.
        """
        config, flattened = self.model.config, self.family.flattened
        if flattened:
            grid_thw = _require_grid(grid_thw)
        rows = int(grid_thw.prod(dim=-1).sum()) if flattened else None
        _check_pixels(pixel_values, config, flattened, rows)
        pixel_values = pixel_values.to(next(self.model.parameters()).dtype)
        wants_hidden = layer is not None
        if flattened:
            out = self.model(pixel_values, grid_thw=grid_thw, output_hidden_states=wants_hidden)
        else:
            size = self.model.config.image_size
            out = self.model(
                pixel_values=pixel_values,
                output_hidden_states=wants_hidden,
                interpolate_pos_encoding=tuple(pixel_values.shape[-2:]) != (size, size),
            )
        if merged:
            if not flattened:
                raise ConfigError(f"{self.folder}: merged=True needs a tower with a merger")
            return torch.stack(_per_image(out.pooler_output, grid_thw, self.merge_size**2)[0])
        hidden = out.last_hidden_state if layer is None else out.hidden_states[layer]
        if not flattened:
            return hidden[:, self.family.leading :]
        parts, grids = _per_image(hidden, grid_thw, 1)
        return torch.stack(
            [window_to_raster(x, g, self.merge_size) for x, g in zip(parts, grids, strict=True)]
        )

    def encode_image(self, image: Image.Image, layer: int | None = None) -> tuple[Tensor, Grid]:
        """The folder's own image processor, then ``features``: ((1, N, D), grid)."""
        if self.processor is None:
            raise ConfigError(f"{self.folder}: no preprocessor_config.json to prepare images with")
        inputs = self.processor(images=image, return_tensors="pt")
        grid_thw = inputs.get("image_grid_thw")
        pixel_values = inputs["pixel_values"]
        return self.features(pixel_values, grid_thw, layer), self.grid(pixel_values, grid_thw)


@dataclass(frozen=True)
class PixelTower:
    """No model: raw RGB patches as features, for looking at compression without weights.

    The image is scaled so its longer side is at most ``max_side``, each side rounded down to
    whole patches; each patch becomes a (p·p·3,) vector of values in [0, 1].
    """

    patch_size: int = 14
    max_side: int = 448

    def __post_init__(self) -> None:
        if not 1 <= self.patch_size <= self.max_side:
            raise ConfigError(
                f"patch size {self.patch_size}: must be in [1, max side {self.max_side}]"
            )

    @property
    def identity(self) -> str:
        return f"pixels-p{self.patch_size}-max{self.max_side}"

    @property
    def name(self) -> str:
        return f"raw pixels ({self.patch_size}-px patches, longer side ≤ {self.max_side})"

    def encode_image(self, image: Image.Image, layer: int | None = None) -> tuple[Tensor, Grid]:
        """((1, H·W, p·p·3) features, (1, H, W) grid); ``layer`` is accepted and ignored."""
        p = self.patch_size
        scale = min(1.0, self.max_side / max(image.size))
        cols, rows = (max(1, int(side * scale) // p) for side in image.size)
        resized = image.convert("RGB").resize((cols * p, rows * p), Image.Resampling.BICUBIC)
        pixels = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.0)
        features = rearrange(pixels, "(h p) (w q) c -> 1 (h w) (p q c)", p=p, q=p)
        return features, (1, rows, cols)


def _require_grid(grid_thw: Tensor | None) -> Tensor:
    if grid_thw is None:
        raise ConfigError("grid_thw: Qwen2-VL features need the (T, H, W) grid of each image")
    return grid_thw


def _per_image(x: Tensor, grid_thw: Tensor, per: int) -> tuple[list[Tensor], list[Grid]]:
    """Split Qwen2-VL's concatenated output (ΣN, D) into one (N, D) per image; the grids
    must be equal so the parts stack into a batch."""
    grids = [(int(t), int(h), int(w)) for t, h, w in grid_thw]
    if len(set(grids)) != 1:
        raise ConfigError(f"grid_thw: images have different grids {grids}; encode them one by one")
    return list(x.split([t * h * w // per for t, h, w in grids])), grids


def _check_pixels(pixel_values: Tensor, config: Any, flattened: bool, rows: int | None) -> None:
    """Refuse inputs of the wrong layout before transformers fails deep inside with a view."""
    channels = getattr(config, "in_channels", None) or getattr(config, "num_channels", 3)
    if flattened:
        width = channels * config.temporal_patch_size * config.patch_size**2
        if pixel_values.ndim != 2 or pixel_values.shape != (rows, width):
            raise ConfigError(
                f"pixel_values: shape {tuple(pixel_values.shape)}, Qwen2-VL expects "
                f"({rows}, {width}) = (ΣT·H·W of grid_thw, C·T·p·p)"
            )
    elif pixel_values.ndim != 4 or pixel_values.shape[1] != channels:
        raise ConfigError(
            f"pixel_values: shape {tuple(pixel_values.shape)}, expected (B, {channels}, H, W)"
        )


def _import(path: str) -> type:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def load_vision_tower(
    folder: str | Path, dtype: torch.dtype | None = None, device: str = "cpu"
) -> VisionTower:
    """Load the vision tower of a local Hugging Face folder (full model or vision-only).

    Raises ConfigError when the folder has no config.json, an unknown model_type, no weight
    files, or weights that lack the tower.
    """
    try:
        from transformers import AutoImageProcessor
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ConfigError(f"{folder}: loading a vision tower needs transformers") from None

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such vision tower folder")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ConfigError(f"{folder}: no config.json (not a Hugging Face model folder)")
    model_type = json.loads(config_path.read_text()).get("model_type", "")
    family = family_of(model_type)
    if not any(any(folder.glob(pattern)) for pattern in WEIGHT_FILES):
        raise ConfigError(f"{folder}: no weight files ({', '.join(WEIGHT_FILES)})")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the unused text weights are expected, not news
    hf_logging.disable_progress_bar()
    try:
        model, info = _import(family.model_class).from_pretrained(
            folder,
            local_files_only=True,
            dtype=dtype,
            key_mapping=dict(family.key_mapping) or None,
            output_loading_info=True,
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise ConfigError(
            f"{folder}: cannot load the {family.name} vision tower: {error}"
        ) from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise ConfigError(
            f"{folder}: weights lack {len(missing)} {family.name} vision tensor(s), "
            f"e.g. {missing[0]}"
        )
    preprocessor = folder / "preprocessor_config.json"
    processor = (
        AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        if preprocessor.is_file()
        else None
    )
    extra = _canonical_json(json.loads(preprocessor.read_text())) if processor else b""
    model = model.to(device).eval()
    identity = identity_digest(family.name, model.config.to_dict(), model, extra)
    return VisionTower(model, family, identity, processor, folder)


def check_profile(tower: VisionTower, profile: Profile) -> None:
    """Refuse a profile whose pixels ``tower`` cannot read, naming both (:class:`ConfigError`):
    dynamic-resolution profiles make flattened patches (Qwen2-VL's tower takes them), the
    others images ``(B, C, H, W)`` (CLIP, SigLIP); the patch sides must agree."""
    flattened = isinstance(profile.resize, SmartResize)
    takes = "flattened patches" if tower.family.flattened else "images (B, C, H, W)"
    if tower.family.flattened != flattened or tower.patch_size != profile.patch_size:
        makes = "flattened patches" if flattened else "images (B, C, H, W)"
        raise ConfigError(
            f"{tower.folder}: this {tower.family.name} tower does not match profile "
            f"{profile.name}: the tower takes {takes} of {tower.patch_size} px, the profile "
            f"makes {makes} of {profile.patch_size} px; use --profile with the tower's own "
            "model folder or a profile of its family"
        )
