"""Cache keys: one digest of an item's bytes and of every parameter that shaped its tensors.

A key is SHA-256 over the canonical JSON of a *recipe*: the item's kind and content digest
(its bytes, never its path), the profile's identity (its name), the profile fields that
shape *that kind* of tensor (:data:`PROFILE_FIELDS`), the caller's parameters (sampling,
tower layer, projector, output stage, …), the encoder's identity and
:data:`PREPROCESS_VERSION`. Fields of other modalities stay out, so a video option never
changes an image's key. Everything is plain JSON with sorted keys, so a key is the same in
every process and run (Python's salted ``hash`` is never used).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, Protocol

import numpy as np

from mmtok.errors import ConfigError, MediaError
from mmtok.media.source import Source, source_name
from mmtok.profiles.base import Profile

PREPROCESS_VERSION = 1
"""Bump whenever a preprocessing rule changes its output for the same inputs and parameters:
every existing entry then misses instead of serving tensors made by the old rule."""

Kind = Literal["image", "video", "audio"]

_VISUAL = (
    "patch_size",
    "merge_size",
    "temporal_patch_size",
    "image_mean",
    "image_std",
    "rescale_factor",
)
PROFILE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "image": (*_VISUAL, "resize", "resampler", "interpolation"),
    # Video frames are sized by the video pixel limits, not by ``resize`` (whose aspect-ratio
    # limit only refuses a video, never changes its tensors).
    "video": (
        *_VISUAL,
        "video_fps",
        "video_min_frames",
        "video_max_frames",
        "video_min_pixels",
        "video_max_pixels",
        "video_frame_rule",
        "video_pixels",
        "video_cap_tokens",
        "video_max_seconds",
        "video_size",
        "video_pool",
        "video_num_frames",
        "video_inputs",
    ),
    # The audio path takes its rules (sample rate, window, mel settings) as ``params``; the
    # profile's encoder (front end, window rule) shapes its features too.
    "audio": ("audio_encoder",),
}
"""Profile fields that shape each kind's tensors: exactly these enter a key of that kind."""

NON_TENSOR_FIELDS: Mapping[str, str] = {
    "name": "the profile's identity, which enters every key on its own",
    "tokens": "token strings shape the sequence, not the tensors",
    "layout": "placeholder expansion happens after the encoder",
    "num_additional_tokens": "a token count",
    "drop_cls": "the model drops [CLS] after the encoder",
    "rope": "position ids",
    "modalities": "which inputs are accepted",
    "tokens_per_second": "video position ids (M-RoPE), not pixels",
    "template": "the chat template shapes the text around the media",
    "llm": "cost-model dimensions",
    "vision": "cost-model dimensions (the encoder enters a key by its own identity)",
    "merge_from_folder": "how a model folder is read; the merge size itself is keyed",
    "source": "where the profile was read from",
    "view_text": "text written around an image's views",
    "token_type_ids": "a model input flag derived from the sequence",
    "video_timestamps": "timestamp text between temporal patches",
    "fit_min_tokens": "the budget planner's quality floor",
    "audio_text": "text written around an audio item",
    "rope_advance": "position ids",
    "several_images": "an image among several is keyed by the profile it is planned under",
    "audio_in_video_chunk": "how a video's audio tokens interleave with its frames",
    "use_audio_in_video": "whether a video's audio track is planned (keyed as audio of its own)",
    "video_grid_seconds": "video position ids (M-RoPE), not pixels",
    "input_names": "names of the model inputs",
    "video_additional_tokens": "a token count (LLaVA-OneVision's newline after a video)",
    "video_frame_text": "text written around a video's frames",
}
"""Profile fields that shape no tensor, and why (a test checks every field is classified)."""


class HasIdentity(Protocol):
    """An encoder (or any model) that names its weights and config with a digest."""

    @property
    def identity(self) -> str: ...


@dataclass(frozen=True)
class MediaItem:
    """One media item to key: its ``kind`` and its ``source`` (a path or encoded bytes)."""

    kind: Kind
    source: Source


def canonical(value: Any, where: str = "params") -> Any:
    """The JSON-ready form of a parameter value, the same in every process.

    Dataclasses become ``{"type": class name, field: …}`` (so two policies with equal
    fields but different rules differ), tuples become lists, paths strings, enums their
    value, NumPy scalars Python numbers. Raises :class:`ConfigError` naming ``where`` for
    NaN/infinity or a type without a canonical form.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {value} has no canonical form (not finite)")
        return value
    if isinstance(value, enum.Enum):
        return canonical(value.value, where)
    if isinstance(value, np.generic):
        return canonical(value.item(), where)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"type": type(value).__qualname__, **canonical(fields, where)}
    if isinstance(value, Mapping):
        return {str(k): canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ConfigError(f"{where}: a {type(value).__name__} has no canonical form for a cache key")


def canonical_json(value: Any) -> bytes:
    """Compact JSON of :func:`canonical` ``(value)`` with sorted keys (ASCII only)."""
    return json.dumps(
        canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()


def content_digest(source: Source) -> str:
    """SHA-256 hex of the item's bytes: a path is read (streamed), bytes are hashed as is.

    SHA-256 rather than BLAKE2b: with the CPU's SHA extensions it hashed 5 MB about twice as
    fast here. Raises :class:`MediaError` naming the path when it cannot be read.
    """
    if isinstance(source, bytes | bytearray):
        return hashlib.sha256(source).hexdigest()
    try:
        with open(source, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise MediaError(source_name(source), f"cannot read it to key the cache ({exc})") from None


def profile_params(profile: Profile, kind: str) -> dict[str, Any]:
    """The fields of ``profile`` that shape ``kind`` tensors (see :data:`PROFILE_FIELDS`)."""
    return {name: getattr(profile, name) for name in PROFILE_FIELDS[kind]}


def encoder_identity(encoder: HasIdentity | str | None) -> str | None:
    """The encoder's digest; a string is taken as the digest; ``None`` for no encoder (a
    cache of preprocessed pixels)."""
    return encoder if encoder is None or isinstance(encoder, str) else encoder.identity


def key_recipe(
    item: MediaItem,
    profile: Profile,
    params: Mapping[str, Any] | None = None,
    encoder: HasIdentity | str | None = None,
) -> dict[str, Any]:
    """Everything a key is made of, as canonical JSON-ready data (hashes the item's bytes)."""
    return {
        "version": PREPROCESS_VERSION,
        "kind": item.kind,
        "content": content_digest(item.source),
        "profile": profile.name,
        "rules": canonical(profile_params(profile, item.kind), "profile"),
        "params": canonical(dict(params or {})),
        "encoder": encoder_identity(encoder),
    }


def cache_key(
    item: MediaItem,
    profile: Profile,
    params: Mapping[str, Any] | None = None,
    encoder: HasIdentity | str | None = None,
) -> str:
    """The cache key of ``item``: 64 hex characters (SHA-256 of its :func:`key_recipe`).

    ``params`` holds every non-profile parameter that shapes the output (video sampling,
    audio sample rate and window, tower layer, projector identity, output stage); the
    request's per-item overrides enter through the item's own profile.
    """
    return hashlib.sha256(canonical_json(key_recipe(item, profile, params, encoder))).hexdigest()
