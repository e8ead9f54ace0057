"""The one call site: media → cache lookup → preprocessing → vision tower (+ projector) → cache.

:func:`encode_media` keys an item from its bytes and parameters *before* decoding it, so a
hit skips decoding, preprocessing and the tower. :func:`preprocess_cached` caches the
preprocessed pixels the same way, for users who run their own tower. :func:`encode_request`
encodes every media item of a request in order, each with the span it fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from mmtok.cache.keys import Kind, MediaItem, cache_key
from mmtok.cache.store import Cache
from mmtok.compress.tower import identity_digest
from mmtok.errors import RequestError
from mmtok.fusion.layout import Span
from mmtok.fusion.overrides import item_profile
from mmtok.fusion.plan import count_request
from mmtok.fusion.request import Request, parse_request
from mmtok.image.pixels import preprocess_image
from mmtok.media.source import Source, source_name
from mmtok.profiles.base import Profile
from mmtok.text.tokenizers import TextTokenizer
from mmtok.video.sampling import Sampling, sampling_for

Grid = tuple[int, int, int]


class Encoder(Protocol):
    """What :func:`encode_media` needs of a vision tower (:class:`mmtok.compress.tower.VisionTower`
    is one): a digest of its weights and config, and raster patch features ``(B, N, D)``."""

    @property
    def identity(self) -> str: ...

    def features(
        self,
        pixel_values: Tensor,
        grid_thw: Tensor | None = None,
        layer: int | None = None,
        merged: bool = False,
    ) -> Tensor: ...


@dataclass(frozen=True)
class TowerOptions:
    """How the tower is called: ``layer`` picks a hidden state (``None``: the last output;
    LLaVA uses -2), ``merged`` takes Qwen2-VL's merger output. Both enter the key."""

    layer: int | None = None
    merged: bool = False


@dataclass(frozen=True)
class Projector:
    """A module applied to the tower's features (LLaVA's multimodal projector), with the
    digest of its weights computed once, here, rather than on every lookup."""

    module: nn.Module
    identity: str

    @classmethod
    def of(cls, module: nn.Module) -> Projector:
        return cls(module, identity_digest(type(module).__qualname__, {}, module, b""))

    @torch.no_grad()
    def __call__(self, features: Tensor) -> Tensor:
        return self.module(features)


@dataclass(frozen=True)
class PixelInputs:
    """One item's encoder input. Patch profiles (Qwen, generic) and video: ``pixel_values``
    ``(N, C·T·p·p)`` with ``grid_thw`` ``(1, 3)``; other profiles ``(V, C, H, W)`` (V views:
    1, or LLaVA-NeXT's base view + tiles) and no ``grid_thw``. ``grid`` ``(t, h, w)`` patches."""

    pixel_values: Tensor
    grid_thw: Tensor | None
    grid: Grid

    def to_tensors(self) -> dict[str, Tensor]:
        out = {"pixel_values": self.pixel_values, "grid": torch.tensor(self.grid)}
        return out if self.grid_thw is None else {**out, "grid_thw": self.grid_thw}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, Tensor]) -> PixelInputs:
        return cls(tensors["pixel_values"], tensors.get("grid_thw"), _grid(tensors["grid"]))


@dataclass(frozen=True)
class VisualTokens:
    """One item's encoder output: ``features`` ``(V, N, D)`` (V views, N tokens each, D
    features: the tower's width, or the projector's), its patch ``grid``, its cache ``key``
    and whether it came from the cache."""

    features: Tensor
    grid: Grid
    key: str
    cached: bool


def _grid(tensor: Tensor) -> Grid:
    t, h, w = (int(v) for v in tensor.tolist())
    return t, h, w


def _as_tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def preprocess_media(
    source: Source, profile: Profile, kind: Kind = "image", sampling: Sampling | None = None
) -> PixelInputs:
    """Decode and preprocess one item (no cache) into its encoder input."""
    if kind == "image":
        image = preprocess_image(source, profile)
        pixels, grid = image.pixel_values, image.plan.grid
        if pixels.ndim == 2:  # flattened patches: the tower needs the grid
            return PixelInputs(_as_tensor(pixels), torch.tensor([grid]), grid)
        return PixelInputs(_as_tensor(pixels.reshape(-1, *pixels.shape[-3:])), None, grid)
    if kind == "video":
        from mmtok.video.pixels import load_video

        video = load_video(source, profile, sampling or sampling_for(profile))
        grid_thw = _as_tensor(video.video_grid_thw)
        return PixelInputs(_as_tensor(video.pixel_values), grid_thw, video.plan.grid)
    raise RequestError(f"{source_name(source)}: {kind} items have no visual tokens to encode")


def media_params(
    kind: Kind,
    profile: Profile,
    sampling: Sampling | None = None,
    options: TowerOptions | None = None,
    projector: Projector | None = None,
) -> dict[str, Any]:
    """The non-profile parameters of one item's tensors: the output stage (``pixels`` or
    ``features``), video sampling (video only), the tower options and projector (features
    only)."""
    params: dict[str, Any] = {"stage": "pixels" if options is None else "features"}
    if kind == "video":
        params["sampling"] = sampling or sampling_for(profile)
    if options is not None:
        params["tower"] = options
        params["projector"] = None if projector is None else projector.identity
    return params


def preprocess_cached(
    source: Source,
    profile: Profile,
    cache: Cache,
    *,
    kind: Kind = "image",
    sampling: Sampling | None = None,
) -> PixelInputs:
    """:func:`preprocess_media` through ``cache`` (keyed without an encoder)."""
    key = cache_key(MediaItem(kind, source), profile, media_params(kind, profile, sampling))
    hit = cache.get(key)
    if hit is not None:
        return PixelInputs.from_tensors(hit)
    inputs = preprocess_media(source, profile, kind, sampling)
    cache.put(key, inputs.to_tensors())
    return inputs


def encode_media(
    source: Source,
    profile: Profile,
    encoder: Encoder,
    *,
    kind: Kind = "image",
    cache: Cache | None = None,
    sampling: Sampling | None = None,
    options: TowerOptions | None = None,
    projector: Projector | None = None,
) -> VisualTokens:
    """One item's visual tokens: from ``cache`` when it holds them, else preprocessing,
    the tower (and ``projector``), stored in ``cache``.

    ``profile`` is the item's own (per-item overrides applied); ``sampling`` defaults to the
    profile's for video. A hit is bit-identical to the computation it stored.
    """
    options = options or TowerOptions()
    params = media_params(kind, profile, sampling, options, projector)
    key = cache_key(MediaItem(kind, source), profile, params, encoder)
    if cache is not None and (hit := cache.get(key)) is not None:
        return VisualTokens(hit["features"], _grid(hit["grid"]), key, True)
    inputs = preprocess_media(source, profile, kind, sampling)
    features = encoder.features(
        inputs.pixel_values, inputs.grid_thw, layer=options.layer, merged=options.merged
    )
    if projector is not None:
        features = projector(features)
    if cache is not None:
        cache.put(key, {"features": features, "grid": torch.tensor(inputs.grid)})
    return VisualTokens(features, inputs.grid, key, False)


# Request fields that override a profile field for one item. fusion/sequence.py applies the
# same mapping privately; one public helper there should serve both.
@dataclass(frozen=True)
class EncodedItem:
    """One media item of a request: ``part`` indexes ``Request.media_parts()``, ``index``
    counts its kind; ``span`` the tokens ``[start, end)`` it fills (fences included)."""

    part: int
    kind: str
    index: int
    source: str
    span: Span
    tokens: VisualTokens


def encode_request(
    request: Request | Mapping[str, Any],
    profile: Profile,
    encoder: Encoder,
    *,
    cache: Cache | None = None,
    tokenizer: TextTokenizer | str | Path | None = None,
    options: TowerOptions | None = None,
    projector: Projector | None = None,
) -> tuple[EncodedItem, ...]:
    """Visual tokens of every kept media item of ``request``, in request order.

    The request is planned (and so validated) whole first, from headers; spans come from
    the same plan as ``mmtok tokenize`` uses, with ``tokenizer`` for the text.
    """
    request = parse_request(request)
    counted = count_request(request, profile, tokenizer)
    spans = {(s.modality, s.index): s for s in counted.spans if s.modality != "text"}
    parts = request.media_parts()
    items = []
    for planned in counted.parts:
        part = parts[planned.part]
        tokens = encode_media(
            part.source,
            item_profile(part, profile),
            encoder,
            kind=part.type,
            cache=cache,
            options=options,
            projector=projector,
        )
        span = spans[(planned.kind, planned.index)]
        items.append(
            EncodedItem(planned.part, planned.kind, planned.index, planned.source, span, tokens)
        )
    return tuple(items)
