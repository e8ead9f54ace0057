"""Build a profile from a local Hugging Face model folder, without network or transformers.

Reads ``preprocessor_config.json`` (image rules), ``processor_config.json`` (token rules of
the processor) and ``config.json`` (model type, vision config, model dimensions). The family
is recognised from ``config.json``'s ``model_type`` (or the image processor's class name); its
built-in profile supplies the layout, special tokens and chat template, and the folder's
values override sizes, pixel limits, normalisation, token rules and the LLM and vision-tower
dimensions of the cost model (a key the folder lacks keeps the family's value).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmtok.errors import ConfigError
from mmtok.image.policies import AnyRes, FixedSize, MaxSide, SmartResize
from mmtok.profiles.base import Profile
from mmtok.profiles.dims import llm_from_config, vision_from_config
from mmtok.profiles.llava import LLAVA_1_5, LLAVA_NEXT
from mmtok.profiles.pixtral import PIXTRAL
from mmtok.profiles.qwen import QWEN2_5_VL, QWEN2_VL

_BY_MODEL_TYPE: dict[str, Profile] = {
    "qwen2_vl": QWEN2_VL,
    "qwen2_5_vl": QWEN2_5_VL,
    "llava": LLAVA_1_5,
    "llava_next": LLAVA_NEXT,
    "pixtral": PIXTRAL,
    "mistral3": PIXTRAL,
}
_BY_PROCESSOR: dict[str, Profile] = {
    "Qwen2VLImageProcessor": QWEN2_VL,
    "LlavaNextImageProcessor": LLAVA_NEXT,
    "CLIPImageProcessor": LLAVA_1_5,
    "LlavaImageProcessor": LLAVA_1_5,
    "PixtralImageProcessor": PIXTRAL,
}


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


def _base_profile(folder: Path, config: dict[str, Any], pre: dict[str, Any]) -> Profile:
    model_type = str(config.get("model_type", ""))
    if model_type in _BY_MODEL_TYPE:
        return _BY_MODEL_TYPE[model_type]
    processor = str(pre.get("image_processor_type", "")).removesuffix("Fast").removesuffix("Pil")
    if processor in _BY_PROCESSOR:
        return _BY_PROCESSOR[processor]
    raise ConfigError(
        f"{folder}: cannot tell the model family (config.json model_type={model_type!r}, "
        f"image_processor_type={processor!r}); supported: {', '.join(sorted(_BY_MODEL_TYPE))}"
    )


def _size_value(pre: dict[str, Any], key: str, *size_keys: str) -> int | None:
    if key in pre and pre[key] is not None:
        return int(pre[key])
    size = pre.get("size") or {}
    for k in size_keys:
        if isinstance(size, dict) and size.get(k) is not None:
            return int(size[k])
    return None


def _resize_policy(base: Profile, pre: dict[str, Any], config: dict[str, Any]) -> Any:
    policy = base.resize
    if isinstance(policy, SmartResize):
        return replace(
            policy,
            min_pixels=_size_value(pre, "min_pixels", "shortest_edge", "min_pixels")
            or policy.min_pixels,
            max_pixels=_size_value(pre, "max_pixels", "longest_edge", "max_pixels")
            or policy.max_pixels,
        )
    if isinstance(policy, MaxSide):
        longest = _size_value(pre, "max_image_size", "longest_edge")
        vision = config.get("vision_config") or {}
        longest = longest or vision.get("image_size")
        return replace(policy, max_image_size=int(longest or policy.max_image_size))
    crop = pre.get("crop_size") or {}
    crop_side = int(crop.get("height", 0)) if isinstance(crop, dict) else int(crop or 0)
    shortest = _size_value(pre, "shortest_edge", "shortest_edge") or policy.resized(1, 1, 1, 1)[0]
    if isinstance(policy, FixedSize):
        return replace(
            policy,
            shortest_edge=shortest,
            crop=crop_side or shortest,
            pad_to_square=bool(pre.get("do_pad", policy.pad_to_square)),
        )
    assert isinstance(policy, AnyRes)
    pinpoints = pre.get("image_grid_pinpoints") or config.get("image_grid_pinpoints")
    return replace(
        policy,
        tile=crop_side or shortest,
        pinpoints=tuple((int(h), int(w)) for h, w in pinpoints) if pinpoints else policy.pinpoints,
    )


def profile_from_folder(folder: Path) -> Profile:
    """The profile of the model stored in ``folder`` (local files only)."""
    config = _read_json(folder / "config.json")
    pre = _read_json(folder / "preprocessor_config.json")
    proc = _read_json(folder / "processor_config.json")
    if not config and not pre:
        raise ConfigError(f"{folder}: no config.json or preprocessor_config.json found")
    base = _base_profile(folder, config, pre)
    vision = config.get("vision_config") or {}
    changes: dict[str, Any] = {
        "name": f"{base.name}@{folder.name}",
        "source": str(folder),
        "resize": _resize_policy(base, pre, config),
    }
    patch = proc.get("patch_size") or pre.get("patch_size") or vision.get("patch_size")
    if patch:
        changes["patch_size"] = int(patch["height"] if isinstance(patch, dict) else patch)
    merge = (
        pre.get("merge_size")
        or config.get("spatial_merge_size")
        or proc.get("spatial_merge_size")
        or vision.get("spatial_merge_size")
    )
    if merge and base.merge_from_folder:
        changes["merge_size"] = int(merge)
    if pre.get("temporal_patch_size"):
        changes["temporal_patch_size"] = int(pre["temporal_patch_size"])
    for key in ("image_mean", "image_std"):
        if pre.get(key):
            changes[key] = tuple(float(v) for v in pre[key])
    if pre.get("rescale_factor"):
        changes["rescale_factor"] = float(pre["rescale_factor"])
    if vision.get("tokens_per_second") is not None:
        changes["tokens_per_second"] = float(vision["tokens_per_second"])
    strategy = proc.get("vision_feature_select_strategy") or config.get(
        "vision_feature_select_strategy"
    )
    if strategy is not None:
        changes["drop_cls"] = strategy == "default"
    if proc.get("num_additional_image_tokens") is not None:
        changes["num_additional_tokens"] = int(proc["num_additional_image_tokens"])
    source = str(folder / "config.json")
    changes["llm"] = llm_from_config(config, base.llm, folder.name, source)
    if base.vision is not None:
        changes["vision"] = vision_from_config(config, base.vision, folder.name, source)
    return replace(base, **changes)
