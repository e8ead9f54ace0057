"""mmtok: images, audio and video into exact token sequences for multimodal LLMs.

The public API. Names resolve on first use (PEP 562), so ``import mmtok`` loads only this
table and a command-line call pays only for what it uses. Wherever a function takes a
``Profile`` it also takes a profile name or a model folder (see :func:`as_profile`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# Public name → (defining module, attribute there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "PROFILES": ("mmtok.profiles", "PROFILES"),
    "CountOptions": ("mmtok.count", "CountOptions"),
    "CountRow": ("mmtok.count", "CountRow"),
    "ImageBatch": ("mmtok.image.pixels", "ImageBatch"),
    "ImageTensors": ("mmtok.image.pixels", "ImageTensors"),
    "MediaInfo": ("mmtok.media.info", "MediaInfo"),
    "Profile": ("mmtok.profiles", "Profile"),
    "as_profile": ("mmtok.profiles", "as_profile"),
    "count_file": ("mmtok.count", "count_file"),
    "count_request": ("mmtok.fusion.plan", "count_request"),
    "decode_image": ("mmtok.image.decode", "decode_image"),
    "encode": ("mmtok.fusion.tensors", "encode"),
    "get_profile": ("mmtok.profiles", "get_profile"),
    "load": ("mmtok.fusion.tensors", "load"),
    "plan": ("mmtok.fusion.plan", "plan_sequence"),
    "preprocess_image": ("mmtok.image.pixels", "preprocess_image"),
    "preprocess_images": ("mmtok.image.pixels", "preprocess_images"),
    "probe": ("mmtok.probe", "probe"),
    "process": ("mmtok.fusion.processor", "process"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mmtok' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps public names that share a submodule's name (``mmtok.probe``) bound to the
    function: importing the submodule would otherwise rebind the package attribute."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (name in _EXPORTS and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
