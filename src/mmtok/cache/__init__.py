"""Visual-token cache: encoder outputs keyed on content and every parameter that shaped them.

``keys`` makes exact, scoped keys; ``entry`` the checksummed file format; ``store`` the
memory and disk tiers; ``encode`` the one call site that looks the cache up before the tower.
"""

from __future__ import annotations

from mmtok.cache.encode import (
    EncodedItem,
    Encoder,
    PixelInputs,
    Projector,
    TowerOptions,
    VisualTokens,
    encode_media,
    encode_request,
    item_profile,
    media_params,
    preprocess_cached,
    preprocess_media,
)
from mmtok.cache.entry import CorruptEntryError
from mmtok.cache.keys import (
    PREPROCESS_VERSION,
    PROFILE_FIELDS,
    MediaItem,
    cache_key,
    canonical_json,
    content_digest,
    key_recipe,
)
from mmtok.cache.store import (
    Cache,
    CacheConfig,
    CacheStats,
    CacheWarning,
    DiskTier,
    TierLimits,
    read_counters,
)

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
