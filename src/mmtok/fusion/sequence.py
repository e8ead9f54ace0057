"""Requests → one token sequence: count from headers, encode with tensors, batch, model inputs.

:func:`count_request` and :func:`encode` share one planning pass (template pieces, media
plans from headers, layout), so ``count_request(...).total == len(encode(...).input_ids)``
by construction. ``encode`` checks the whole request — every file probed, every special
token resolved — before it decodes any media: bad input fails before work is done and
nothing is half-built.

Each media kind plugs in through one small planning function (headers → item plan and its
token segment) and one loading function (decode → tensors), in :data:`_KINDS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmtok.errors import MediaError, RequestError
from mmtok.fusion.layout import (
    Modality,
    Segment,
    Span,
    assemble,
    audio_segment,
    image_segment,
    media_token_ids,
    text_segment,
    video_segment,
)
from mmtok.fusion.positions import Advance, mrope, rope_1d, video_time_steps
from mmtok.fusion.request import ImagePart, MediaPart, Request, VideoPart, article, parse_request
from mmtok.image.pixels import ImageTensors, preprocess_image, stack_images
from mmtok.image.policies import MaxSide, SmartResize
from mmtok.media.info import MediaInfo
from mmtok.probe import probe
from mmtok.profiles.base import Profile
from mmtok.text.templates import Bos, Eos, Item, Special, Text, render, template_for
from mmtok.text.tokenizers import TextTokenizer, builtin_tokenizer, load_tokenizer


class TokenizerFallbackWarning(UserWarning):
    """The built-in tokenizer stands in for a family's own: text counts are approximate."""


# --- tokenizer ------------------------------------------------------------------------------


def resolve_tokenizer(
    profile: Profile, tokenizer: TextTokenizer | str | Path | None = None
) -> TextTokenizer:
    """The tokenizer to encode ``profile``'s requests with.

    A :class:`TextTokenizer` or a path is used as given; otherwise a model folder's own
    ``tokenizer.json``; otherwise the built-in Tekken with the profile's and template's
    special tokens added — with a :class:`TokenizerFallbackWarning` for families whose own
    tokenizer is not built in (Qwen, LLaVA): media counts and positions stay exact, text
    counts are approximate.
    """
    if isinstance(tokenizer, TextTokenizer):
        return tokenizer
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    folder = Path(profile.source)
    if profile.source != "built-in" and (folder / "tokenizer.json").is_file():
        return load_tokenizer(folder / "tokenizer.json")
    template = template_for(profile)
    base = builtin_tokenizer()
    tokens = (*template.controls, *profile.tokens.names().values())
    out = base.with_tokens(tokens)
    if not template.builtin:
        warnings.warn(
            f"no tokenizer given for {profile.name}: using the built-in {base.name} with "
            f"{len(out.added)} special token(s) added ({', '.join(out.added)}); media token "
            "counts and positions are exact, text token counts are approximate",
            TokenizerFallbackWarning,
            stacklevel=2,
        )
    return out


# --- planning (headers only) ----------------------------------------------------------------


@dataclass(frozen=True)
class ItemPlan:
    """One kept media item, planned from its header under its own (overridden) profile.

    ``grid`` ``(t, h, w)`` encoder patches; ``segment`` the tokens it expands to (fences
    included); ``load`` decodes it into tensors (``ImageTensors``, ``VideoTensors``,
    ``AudioFeatures``).
    """

    part: int
    kind: str
    index: int
    source: str
    grid: tuple[int, int, int]
    segment: Segment
    load: Callable[[], Any] = field(repr=False)
    seconds_per_grid: float | None = None


def _check(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise RequestError(f"{where}: {problem}")


_VIDEO_OVERRIDES = {
    "fps": "video_fps",
    "max_frames": "video_max_frames",
    "min_pixels": "video_min_pixels",
    "max_pixels": "video_max_pixels",
}


def item_profile(part: MediaPart, profile: Profile, where: str = "media") -> Profile:
    """``profile`` with the part's own overrides applied — the one place they are mapped.

    Images: ``min_pixels``/``max_pixels`` (dynamic-resolution profiles) or ``max_image_size``
    (max-side profiles); videos: ``fps``, ``max_frames``, ``min_pixels``, ``max_pixels`` onto
    the profile's video fields. An override the profile has no knob for is a
    :class:`RequestError` naming ``where``.
    """
    if isinstance(part, VideoPart):
        changes = {
            name: value
            for attr, name in _VIDEO_OVERRIDES.items()
            if (value := getattr(part, attr)) is not None
        }
        return profile.with_options(**changes) if changes else profile
    if not isinstance(part, ImagePart):
        return profile
    changes = {k: v for k in ("min_pixels", "max_pixels") if (v := getattr(part, k)) is not None}
    if changes:
        _check(
            isinstance(profile.resize, SmartResize),
            where,
            f"min_pixels/max_pixels apply to dynamic-resolution profiles, not {profile.name}",
        )
    if part.max_image_size is not None:
        _check(
            isinstance(profile.resize, MaxSide),
            where,
            f"max_image_size applies to max-side profiles (Pixtral), not {profile.name}",
        )
        changes["max_image_size"] = part.max_image_size
    return profile.with_options(**changes) if changes else profile


def _plan_image(
    part: MediaPart, info: MediaInfo, profile: Profile, tok: TextTokenizer, item: Item, where: str
) -> ItemPlan:
    own = item_profile(part, profile, where)
    assert info.height is not None and info.width is not None
    plan = own.plan_image(info.height, info.width, source=part.name)
    ids = media_token_ids(profile.tokens, tok.token_id, ["image"])
    segment = image_segment(plan, own, ids, item.index)

    def load() -> ImageTensors:
        tensors = preprocess_image(part.source, own)
        if tensors.plan != plan:
            raise MediaError(part.name, "decoded image size differs from its header")
        return tensors

    return ItemPlan(item.part, "image", item.index, part.name, plan.grid, segment, load)


def _plan_video(
    part: MediaPart, info: MediaInfo, profile: Profile, tok: TextTokenizer, item: Item, where: str
) -> ItemPlan:
    from mmtok.video.pixels import load_video
    from mmtok.video.plan import count_video
    from mmtok.video.sampling import sampling_for

    own = item_profile(part, profile, where)
    sampling = sampling_for(own)
    stamp_tokens = None
    if profile.tokens.frame_sep is not None:
        stamp_tokens = lambda text: len(tok.encode(text))  # noqa: E731
    _, _, plan = count_video(part.source, own, sampling, info=info, timestamp_tokens=stamp_tokens)
    ids = media_token_ids(profile.tokens, tok.token_id, ["video"])
    stamps = [tok.encode(t) for t in plan.timestamp_texts]
    segment = video_segment(plan.grid[0], plan.frame_tokens, ids, item.index, stamps)
    if len(segment.ids) != plan.tokens + plan.fence_tokens:
        raise MediaError(part.name, "video layout and video count disagree")

    def load() -> Any:
        return load_video(part.source, own, sampling, timestamp_tokens=stamp_tokens)

    spg = plan.seconds_per_grid
    return ItemPlan(item.part, "video", item.index, part.name, plan.grid, segment, load, spg)


def _plan_audio(
    part: MediaPart, info: MediaInfo, profile: Profile, tok: TextTokenizer, item: Item, where: str
) -> ItemPlan:
    from mmtok.audio.features import load_audio_features
    from mmtok.audio.plan import count_audio

    _, plan = count_audio(part.source, profile, info=info)
    ids = media_token_ids(profile.tokens, tok.token_id, ["audio"])
    segment = audio_segment(plan.window_tokens, ids, item.index)
    if len(segment.ids) != plan.tokens + plan.fence_tokens:
        raise MediaError(part.name, "audio layout and audio count disagree")
    # Audio has no patch grid: (windows, 1, tokens of the longest window).
    grid = (len(plan.windows), 1, max(plan.window_tokens, default=0))
    return ItemPlan(
        item.part, "audio", item.index, part.name, grid, segment,
        lambda: load_audio_features(part.source, profile),
    )  # fmt: skip


_KINDS: dict[str, Callable[..., ItemPlan]] = {
    "image": _plan_image,
    "video": _plan_video,
    "audio": _plan_audio,
}


@dataclass(frozen=True)
class _Plan:
    """Everything known before decoding: the sequence and the plan of every item."""

    input_ids: np.ndarray
    modality_ids: np.ndarray
    spans: tuple[Span, ...]
    items: tuple[ItemPlan, ...]
    labels: dict[int, int]  # part → tokens of its label, encoded alone
    special_tokens: dict[str, int]


def _plan(request: Request, profile: Profile, tok: TextTokenizer) -> _Plan:
    template = template_for(profile)
    pieces = render(request, template)
    parts = request.media_parts()
    segments: list[Segment] = []
    items: list[ItemPlan] = []
    labels: dict[int, int] = {}
    for piece in pieces:
        if isinstance(piece, Text):
            segments.append(text_segment(tok.encode(piece.text, parse_special=piece.parse_special)))
        elif isinstance(piece, Special):
            segments.append(text_segment([tok.token_id(piece.token)], Modality.SPECIAL))
        elif isinstance(piece, Bos | Eos):
            token = tok.bos_id if isinstance(piece, Bos) else tok.eos_id
            segments.append(text_segment([] if token is None else [token], Modality.SPECIAL))
        else:
            part = parts[piece.part]
            where = f"{request.locate(piece.part)} ({part.name})"
            _check(
                piece.kind in profile.modalities,
                where,
                f"profile {profile.name} does not accept {piece.kind} input "
                f"(it takes {', '.join(profile.modalities) or 'text only'})",
            )
            info = probe(part.source)
            _check(
                info.kind == piece.kind,
                where,
                f"{piece.kind} part, but the file is {article(info.kind)} {info.kind}",
            )
            item = _KINDS[piece.kind](part, info, profile, tok, piece, where)
            items.append(item)
            segments.append(item.segment)
            if piece.label:
                labels[piece.part] = len(tok.encode(piece.label))
    ids, mods, spans = assemble(segments)
    names = [*template.controls, *profile.tokens.names().values()]
    special = {t: tok.specials[t] for t in names if t in tok.specials}
    special.update({k: v for k, v in (("bos", tok.bos_id), ("eos", tok.eos_id)) if v is not None})
    return _Plan(ids, mods, spans, tuple(items), labels, special)


# --- counting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartCount:
    """One kept media part: ``part`` indexes ``Request.media_parts()``; ``index`` counts its
    kind; ``tokens`` = its expansion (fences, breaks, separators) + its label's tokens."""

    part: int
    kind: str
    index: int
    source: str
    grid: tuple[int, int, int]
    tokens: int
    label_tokens: int = 0


@dataclass(frozen=True)
class RequestCount:
    """Token counts of a request, from headers only.

    ``total`` equals ``len(encode(...).input_ids)``; ``text`` is ``total - Σ parts.tokens``
    (text, template and control tokens; a label merged into its neighbouring text by the
    tokenizer may shift a token between the two); ``by_modality`` counts tokens per
    modality id name (``text``, ``image``, ``video``, ``audio``, ``special``).
    """

    total: int
    text: int
    parts: tuple[PartCount, ...]
    by_modality: dict[str, int]
    spans: tuple[Span, ...]


def _modality_totals(modality_ids: np.ndarray) -> dict[str, int]:
    counts = np.bincount(modality_ids.astype(np.int64), minlength=len(Modality))
    return {m.name.lower(): int(counts[m]) for m in Modality}


def count_request(
    request: Request | Mapping[str, Any],
    profile: Profile,
    tokenizer: TextTokenizer | str | Path | None = None,
) -> RequestCount:
    """Count a request without decoding any media (headers are probed, text tokenized)."""
    request = parse_request(request)
    plan = _plan(request, profile, resolve_tokenizer(profile, tokenizer))
    parts = tuple(
        PartCount(
            it.part,
            it.kind,
            it.index,
            it.source,
            it.grid,
            len(it.segment.ids) + plan.labels.get(it.part, 0),
            plan.labels.get(it.part, 0),
        )
        for it in plan.items
    )
    total = len(plan.input_ids)
    return RequestCount(
        total,
        total - sum(p.tokens for p in parts),
        parts,
        _modality_totals(plan.modality_ids),
        plan.spans,
    )


# --- encoding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoded:
    """One request as the model sees it.

    ``input_ids``, ``attention_mask``, ``modality_ids`` ``(L,)``; ``position_ids`` ``(1, L)``
    (1D) or ``(3, L)`` (M-RoPE); ``rope_delta`` where generation continues minus ``L``;
    ``spans`` the text runs and media items; ``images``/``videos``/``audios`` the
    preprocessed tensors per item with their plans (``ImageTensors``, ``VideoTensors``,
    ``AudioFeatures``); ``image_grid_thw`` ``(n, 3)`` and ``video_grid_thw``
    ``(v, 3)`` encoder patch grids; ``second_per_grid_ts`` ``(v,)`` seconds per temporal
    patch; ``special_tokens`` token string → id (plus ``bos``/``eos``).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    modality_ids: np.ndarray
    position_ids: np.ndarray
    rope_delta: int
    spans: tuple[Span, ...]
    images: tuple[ImageTensors, ...]
    videos: tuple[Any, ...]
    audios: tuple[Any, ...]
    image_grid_thw: np.ndarray
    video_grid_thw: np.ndarray
    second_per_grid_ts: np.ndarray
    special_tokens: dict[str, int]
    profile: Profile = field(repr=False)

    def to_model_inputs(self) -> dict[str, Any]:
        """Keyword arguments of the matching transformers model's ``forward`` (batch of 1)."""
        return batch([self]).to_model_inputs()

    def to_json(self) -> dict[str, Any]:
        """Plain lists: what ``mmtok tokenize --json`` prints."""
        return {
            "profile": self.profile.name,
            "input_ids": self.input_ids.tolist(),
            "attention_mask": self.attention_mask.tolist(),
            "modality_ids": self.modality_ids.tolist(),
            "position_ids": self.position_ids.tolist(),
            "rope_delta": self.rope_delta,
            "spans": [
                {"modality": s.modality, "index": s.index, "start": s.start, "end": s.end}
                for s in self.spans
            ],
            "image_grid_thw": self.image_grid_thw.tolist(),
            "video_grid_thw": self.video_grid_thw.tolist(),
            "second_per_grid_ts": self.second_per_grid_ts.tolist(),
            "special_tokens": dict(self.special_tokens),
            "modality_totals": _modality_totals(self.modality_ids),
        }


def _grids(items: Sequence[ItemPlan], kind: str) -> np.ndarray:
    return np.array([it.grid for it in items if it.kind == kind], dtype=np.int64).reshape(-1, 3)


def positions(
    modality_ids: np.ndarray,
    image_grid_thw: np.ndarray,
    video_grid_thw: np.ndarray,
    second_per_grid_ts: np.ndarray,
    profile: Profile,
    advance: Advance = "spatial",
) -> tuple[np.ndarray, int]:
    """Position ids ``(P, L)`` and the rope delta of one unpadded sequence under ``profile``."""
    if profile.rope == "1d":
        return rope_1d(len(modality_ids)), 0
    steps = video_time_steps(second_per_grid_ts, profile.tokens_per_second, len(video_grid_thw))
    return mrope(
        modality_ids,
        image_grid_thw,
        video_grid_thw,
        merge_size=profile.merge_size,
        video_steps=steps,
        advance=advance,
    )


def encode(
    request: Request | Mapping[str, Any],
    profile: Profile,
    tokenizer: TextTokenizer | str | Path | None = None,
    *,
    advance: Advance = "spatial",
) -> Encoded:
    """Build the token sequence, positions and media tensors of one request.

    ``advance`` picks where text after an M-RoPE item continues (see
    :mod:`mmtok.fusion.positions`): ``"spatial"`` (transformers 5, the default) or ``"max"``
    (Qwen's published rule).
    """
    request = parse_request(request)
    plan = _plan(request, profile, resolve_tokenizer(profile, tokenizer))
    loaded = [it.load() for it in plan.items]  # decoding starts only after planning passed
    images = tuple(t for it, t in zip(plan.items, loaded, strict=True) if it.kind == "image")
    videos = tuple(t for it, t in zip(plan.items, loaded, strict=True) if it.kind == "video")
    audios = tuple(t for it, t in zip(plan.items, loaded, strict=True) if it.kind == "audio")
    image_grid = _grids(plan.items, "image")
    video_grid = _grids(plan.items, "video")
    spg = np.array(
        [it.seconds_per_grid for it in plan.items if it.kind == "video"], dtype=np.float32
    )
    pos, delta = positions(plan.modality_ids, image_grid, video_grid, spg, profile, advance)
    return Encoded(
        input_ids=plan.input_ids,
        attention_mask=np.ones(len(plan.input_ids), dtype=np.int64),
        modality_ids=plan.modality_ids,
        position_ids=pos,
        rope_delta=delta,
        spans=plan.spans,
        images=images,
        videos=videos,
        audios=audios,
        image_grid_thw=image_grid,
        video_grid_thw=video_grid,
        second_per_grid_ts=spg,
        special_tokens=plan.special_tokens,
        profile=profile,
    )


# --- batching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedBatch:
    """Several encoded requests padded to one length ``L``.

    ``input_ids``/``attention_mask``/``modality_ids`` ``(B, L)``; ``position_ids``
    ``(P, B, L)`` (pads at 0, as transformers' ``get_rope_index`` leaves them);
    ``rope_deltas`` ``(B, 1)``; ``spans`` per row, shifted by the row's left padding; media
    of all rows in row order.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    modality_ids: np.ndarray
    position_ids: np.ndarray
    rope_deltas: np.ndarray
    spans: tuple[tuple[Span, ...], ...]
    rows: tuple[Encoded, ...] = field(repr=False)

    def to_model_inputs(self) -> dict[str, Any]:
        """Keyword arguments of the matching transformers model's ``forward``, as torch
        tensors: ids, mask and position ids always; ``mm_token_type_ids`` for M-RoPE;
        ``pixel_values`` (+ ``image_grid_thw`` / ``image_sizes`` as the family takes them);
        ``pixel_values_videos``, ``video_grid_thw`` and, for Qwen2.5-VL,
        ``second_per_grid_ts``; audio ``input_features`` + ``feature_attention_mask``."""
        import torch

        profile = self.rows[0].profile
        out: dict[str, Any] = {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "position_ids": self.position_ids if profile.rope == "mrope" else self.position_ids[0],
        }
        if profile.rope == "mrope":
            # transformers' token types: text 0, image 1, video 2 (fences and controls are text)
            out["mm_token_type_ids"] = np.where(self.modality_ids <= 2, self.modality_ids, 0)
        images = [t for row in self.rows for t in row.images]
        if images:
            out.update(_image_inputs(images, profile))
        videos = [v for row in self.rows for v in row.videos]
        if videos:
            out["pixel_values_videos"] = np.concatenate([v.pixel_values for v in videos])
            out["video_grid_thw"] = np.concatenate([r.video_grid_thw for r in self.rows])
            if profile.tokens_per_second is not None:
                spg = [r.second_per_grid_ts for r in self.rows]
                out["second_per_grid_ts"] = np.concatenate(spg)
        audios = [a for row in self.rows for a in row.audios]
        if audios:  # Qwen2-Audio's inputs: one row per 30 s window
            out["input_features"] = np.concatenate([a.input_features for a in audios])
            out["feature_attention_mask"] = np.concatenate(
                [a.feature_attention_mask for a in audios]
            )
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}


def _image_inputs(images: Sequence[ImageTensors], profile: Profile) -> dict[str, np.ndarray]:
    stacked = stack_images(images, profile)
    out: dict[str, np.ndarray] = {}
    if isinstance(stacked.pixel_values, list):
        # Pixtral: transformers' processor zero-pads to the batch's largest size.
        h = max(p.shape[1] for p in stacked.pixel_values)
        w = max(p.shape[2] for p in stacked.pixel_values)
        padded = np.zeros((len(images), 3, h, w), dtype=np.float32)
        for i, p in enumerate(stacked.pixel_values):
            padded[i, :, : p.shape[1], : p.shape[2]] = p
        out["pixel_values"] = padded
        out["image_sizes"] = np.array([t.plan.resized for t in images], dtype=np.int64)
        return out
    out["pixel_values"] = stacked.pixel_values
    if stacked.image_grid_thw is not None:
        out["image_grid_thw"] = stacked.image_grid_thw
    if stacked.image_sizes is not None:
        out["image_sizes"] = stacked.image_sizes
    return out


def batch(
    rows: Sequence[Encoded],
    *,
    padding: Literal["right", "left"] = "right",
    pad_id: int = 0,
) -> EncodedBatch:
    """Pad encoded requests of one profile to a common length (``pad_id``, mask 0)."""
    if not rows:
        raise RequestError("cannot batch zero requests")
    names = {r.profile.name for r in rows}
    if len(names) > 1:
        raise RequestError(f"cannot batch requests of different profiles: {sorted(names)}")
    b, length = len(rows), max(len(r.input_ids) for r in rows)
    p = rows[0].position_ids.shape[0]
    ids = np.full((b, length), pad_id, dtype=np.int64)
    mask = np.zeros((b, length), dtype=np.int64)
    mods = np.zeros((b, length), dtype=np.int8)
    pos = np.zeros((p, b, length), dtype=np.int64)
    spans = []
    for i, r in enumerate(rows):
        n = len(r.input_ids)
        start = length - n if padding == "left" else 0
        sl = slice(start, start + n)
        ids[i, sl], mods[i, sl], pos[:, i, sl] = r.input_ids, r.modality_ids, r.position_ids
        mask[i, sl] = 1
        spans.append(tuple(replace(s, start=s.start + start, end=s.end + start) for s in r.spans))
    deltas = np.array([[r.rope_delta] for r in rows], dtype=np.int64)
    return EncodedBatch(ids, mask, mods, pos, deltas, tuple(spans), tuple(rows))


def encode_batch(
    requests: Sequence[Request | Mapping[str, Any]],
    profile: Profile,
    tokenizer: TextTokenizer | str | Path | None = None,
    *,
    padding: Literal["right", "left"] = "right",
    pad_id: int = 0,
    advance: Advance = "spatial",
) -> EncodedBatch:
    """:func:`encode` every request, then :func:`batch` them."""
    tok = resolve_tokenizer(profile, tokenizer)
    rows = [encode(r, profile, tok, advance=advance) for r in requests]
    return batch(rows, padding=padding, pad_id=pad_id)
