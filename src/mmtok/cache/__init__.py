"""Visual-token cache: encoder outputs keyed on content and every parameter that shaped them.

``keys`` makes exact, scoped keys; ``entry`` the checksummed file format; ``store`` the
memory and disk tiers; ``encode`` the one call site that looks the cache up before the tower.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name → its submodule. Names resolve on first use: ``encode`` and the entry format
# load torch, which ``mmtok cache stats`` or the CLI's option defaults do not need.
_EXPORTS: dict[str, str] = {
    "EncodedItem": "encode",
    "Encoder": "encode",
    "PixelInputs": "encode",
    "Projector": "encode",
    "TowerOptions": "encode",
    "VisualTokens": "encode",
    "encode_media": "encode",
    "encode_request": "encode",
    "item_profile": "encode",
    "media_params": "encode",
    "preprocess_cached": "encode",
    "preprocess_media": "encode",
    "CorruptEntryError": "entry",
    "PREPROCESS_VERSION": "keys",
    "PROFILE_FIELDS": "keys",
    "MediaItem": "keys",
    "cache_key": "keys",
    "canonical_json": "keys",
    "content_digest": "keys",
    "key_recipe": "keys",
    "Cache": "store",
    "CacheConfig": "store",
    "CacheStats": "store",
    "CacheWarning": "store",
    "DiskTier": "store",
    "TierLimits": "store",
    "read_counters": "store",
}

__all__ = [
    "PREPROCESS_VERSION",
    "PROFILE_FIELDS",
    "Cache",
    "CacheConfig",
    "CacheStats",
    "CacheWarning",
    "CorruptEntryError",
    "DiskTier",
    "EncodedItem",
    "Encoder",
    "MediaItem",
    "PixelInputs",
    "Projector",
    "TierLimits",
    "TowerOptions",
    "VisualTokens",
    "cache_key",
    "canonical_json",
    "content_digest",
    "encode_media",
    "encode_request",
    "item_profile",
    "key_recipe",
    "media_params",
    "preprocess_cached",
    "preprocess_media",
    "read_counters",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mmtok.cache' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmtok.cache.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
