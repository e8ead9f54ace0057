"""Request + profile → the token sequence, from headers alone: the plan step of ``encode``.

:func:`plan_sequence` renders the chat template, probes every media item (headers only),
plans each item under its own profile (per-item overrides applied), lays the sequence out and
computes its position ids: input ids, modality ids, positions, spans, grids and per-item
plans. Nothing is decoded, no tensors are made; :func:`mmtok.fusion.tensors.load` turns a plan
into model tensors. :func:`count_request` is the same pass without positions.

The whole request is checked here — every file probed, every special token resolved — so a
bad request fails before any decoding starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmtok.audio.plan import AudioPlan, count_audio
from mmtok.errors import MediaError, UnsupportedMediaError
from mmtok.fusion.layout import (
    Modality,
    Segment,
    Span,
    assemble,
    audio_segment,
    audio_video_segment,
    image_segment,
    media_token_ids,
    text_segment,
    video_segment,
    view_text_around,
)
from mmtok.fusion.overrides import check, item_profile
from mmtok.fusion.positions import (
    Advance,
    audio_video_positions,
    frame_grids,
    mrope,
    rope_1d,
    video_time_steps,
)
from mmtok.fusion.request import MediaPart, Request, article, parse_request
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.image.policies import ImagePlan
from mmtok.limits import DEFAULT_LIMITS, Limits
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source
from mmtok.probe import probe
from mmtok.profiles import ProfileLike, as_profile
from mmtok.profiles.base import Profile
from mmtok.text.templates import Bos, Eos, Item, Piece, Special, Text, render, template_for
from mmtok.text.tokenizers import TextTokenizer
from mmtok.video.frames import FrameSelection
from mmtok.video.plan import VideoPlan, count_video, timestamp_style
from mmtok.video.sampling import sampling_for

TokenizerLike = TextTokenizer | str | Path | None


@dataclass(frozen=True)
class ItemPlan:
    """One kept media item, planned from its header under its own (overridden) profile.

    ``grid`` ``(t, h, w)`` encoder patches; ``segment`` the tokens it expands to (fences
    included); ``input`` what to decode (path or bytes); ``profile`` the item's profile;
    ``detail`` the modality's own plan (:class:`ImagePlan`, :class:`VideoPlan`,
    :class:`AudioPlan`) and, for video, ``selection`` the sampled frames and ``audio`` its
    audio track's plan when its audio is interleaved with its frames (``use_audio_in_video``).
    """

    part: int
    kind: str
    index: int
    source: str
    grid: tuple[int, int, int]
    segment: Segment
    input: Source = field(repr=False)
    profile: Profile = field(repr=False)
    detail: ImagePlan | VideoPlan | AudioPlan = field(repr=False)
    selection: FrameSelection | None = field(default=None, repr=False)
    seconds_per_grid: float | None = None
    audio: AudioPlan | None = field(default=None, repr=False)


def _plan_image(
    part: MediaPart,
    info: MediaInfo,
    profile: Profile,
    tok: TextTokenizer,
    item: Item,
    where: str,
    limits: Limits,
    images: int = 1,
) -> ItemPlan:
    # ``images``: kept images in the request (``Profile.several_images`` may lay them out anew)
    own = item_profile(part, profile, where, limits).among(images)
    assert info.height is not None and info.width is not None
    plan = own.plan_image(info.height, info.width, source=part.name)
    limits.check_item(part.name, "image", plan.tokens, pixels=plan.resized[0] * plan.resized[1])
    ids = media_token_ids(profile.tokens, tok.token_id, ["image"])
    segment = image_segment(plan, own, ids, item.index, tok.encode)
    return ItemPlan(item.part, "image", item.index, part.name, plan.grid, segment,
                    part.source, own, plan)  # fmt: skip


def _plan_video(
    part: MediaPart,
    info: MediaInfo,
    profile: Profile,
    tok: TextTokenizer,
    item: Item,
    where: str,
    limits: Limits,
) -> ItemPlan:
    own = item_profile(part, profile, where, limits)
    stamp_tokens = None
    style = timestamp_style(own)
    if style is not None or own.video_frame_text is not None:
        stamp_tokens = lambda text: len(tok.encode(text))  # noqa: E731
    _, selection, plan = count_video(
        part.source, own, sampling_for(own), info=info, timestamp_tokens=stamp_tokens
    )
    pixels = plan.resized[0] * plan.resized[1]
    limits.check_item(part.name, "video", plan.tokens, pixels=pixels, frames=plan.num_frames)
    if own.use_audio_in_video:
        return _plan_audio_video(part, own, tok, item, limits, plan, selection)
    ids = media_token_ids(profile.tokens, tok.token_id, ["video"])
    stamps = [tok.encode(t) if t else [] for t in plan.timestamp_texts]
    after = style is not None and style.after
    segment = video_segment(
        plan.grid[0], plan.frame_tokens, ids, item.index, stamps, stamps_after=after,
        tail=plan.tail_tokens,
    )  # fmt: skip
    if len(segment.ids) != plan.tokens + plan.fence_tokens:
        raise MediaError(part.name, "video layout and video count disagree")
    return ItemPlan(item.part, "video", item.index, part.name, plan.grid, segment,
                    part.source, own, plan, selection, plan.seconds_per_grid)  # fmt: skip


def _plan_audio_video(
    part: MediaPart,
    own: Profile,
    tok: TextTokenizer,
    item: Item,
    limits: Limits,
    plan: VideoPlan,
    selection: FrameSelection,
) -> ItemPlan:
    """A video whose audio track is interleaved with its frames: the track counted from its
    header and packets under the profile's audio encoder, laid out in chunks with the
    frames."""
    try:
        _, audio = count_audio(part.source, own, max_duration=limits.max_duration)
    except UnsupportedMediaError as exc:
        raise UnsupportedMediaError(
            part.name, f"use_audio_in_video, but the video has no audio track to use ({exc})"
        ) from None
    if audio.tokens < 1:
        raise MediaError(part.name, "its audio track is too short for one audio token")
    limits.check_item(part.name, "audio", audio.tokens)
    assert own.audio_in_video_chunk is not None and own.tokens_per_second is not None
    ids = media_token_ids(own.tokens, tok.token_id, ["video", "audio"])
    per_chunk = int(own.tokens_per_second * own.audio_in_video_chunk)
    segment = audio_video_segment(
        plan.grid[0], plan.frame_tokens, audio.tokens, plan.seconds_per_grid,
        own.tokens_per_second, per_chunk, ids, item.index,
    )  # fmt: skip
    if len(segment.ids) != plan.tokens + plan.fence_tokens + audio.tokens + audio.fence_tokens:
        raise MediaError(part.name, "video-with-audio layout and counts disagree")
    return ItemPlan(item.part, "video", item.index, part.name, plan.grid, segment,
                    part.source, own, plan, selection, plan.seconds_per_grid, audio)  # fmt: skip


def _plan_audio(
    part: MediaPart,
    info: MediaInfo,
    profile: Profile,
    tok: TextTokenizer,
    item: Item,
    where: str,
    limits: Limits,
) -> ItemPlan:
    _, plan = count_audio(part.source, profile, info=info)
    limits.check_item(part.name, "audio", plan.tokens)
    ids = media_token_ids(profile.tokens, tok.token_id, ["audio"])
    segment = audio_segment(plan.runs, ids, item.index)
    if len(segment.ids) != plan.tokens + plan.fence_tokens:
        raise MediaError(part.name, "audio layout and audio count disagree")
    # Audio has no patch grid: (windows, 1, tokens of the longest window).
    grid = (len(plan.windows), 1, max(plan.window_tokens, default=0))
    return ItemPlan(item.part, "audio", item.index, part.name, grid, segment,
                    part.source, profile, plan)  # fmt: skip


_KINDS: dict[str, Callable[..., ItemPlan]] = {
    "image": _plan_image,
    "video": _plan_video,
    "audio": _plan_audio,
}


@dataclass(frozen=True)
class _Layout:
    """The sequence before positions: ids, modality ids, spans and the plan of every item."""

    input_ids: np.ndarray
    modality_ids: np.ndarray
    spans: tuple[Span, ...]
    items: tuple[ItemPlan, ...]
    labels: dict[int, int]  # part → tokens of its label, encoded alone
    special_tokens: dict[str, int]


def _with_view_text(
    pieces: list[Piece],
    request: Request,
    profile: Profile,
    limits: Limits,
    probe_part: Callable[[int], MediaInfo],
    images: int,
) -> list[Piece]:
    """The pieces with the text a processor writes around each image (Gemma 3's
    ``Profile.view_text``, which depends on the image's size) joined to the neighbouring
    text, as the reference tokenizer sees it; likewise the text before a video's first frame
    and after its last (``Profile.video_frame_text``). Only such profiles probe here (headers
    only, through ``probe_part``, which the item planning reuses)."""
    texts = (profile.view_text, profile.audio_text, profile.video_frame_text)
    if all(t is None for t in texts):
        return pieces
    parts, out = request.media_parts(), []  # type: ignore[var-annotated]
    for piece in pieces:
        before, after = "", ""
        if isinstance(piece, Item) and piece.kind == "audio" and profile.audio_text is not None:
            before, after = profile.audio_text.before, profile.audio_text.after
        elif isinstance(piece, Item) and piece.kind == "image" and profile.view_text:
            part = parts[piece.part]
            info = probe_part(piece.part)
            if info.kind == "image" and info.height is not None and info.width is not None:
                own = item_profile(part, profile, part.name, limits).among(images)
                plan = own.plan_image(info.height, info.width, source=part.name)
                before, after = view_text_around(plan, own)
        elif isinstance(piece, Item) and piece.kind == "video" and profile.video_frame_text:
            part = parts[piece.part]
            info = probe_part(piece.part)
            if info.kind == "video":  # the text around its frames (InternVL3, SmolVLM2)
                own = item_profile(part, profile, part.name, limits)
                _, _, video = count_video(part.source, own, sampling_for(own), info=info)
                before, after = video.edge_texts
        for text in (before, piece, after):
            if isinstance(text, str) and not text:
                continue
            text = Text(text) if isinstance(text, str) else text
            if isinstance(text, Text) and out and isinstance(out[-1], Text):
                prev = out.pop()
                text = Text(prev.text + text.text, prev.parse_special or text.parse_special)
            out.append(text)
    return out


def _lay_out(
    request: Request, profile: Profile, tok: TextTokenizer, limits: Limits = DEFAULT_LIMITS
) -> _Layout:
    template = template_for(profile)
    parts = request.media_parts()
    images = sum(1 for p in parts if p.type == "image" and not p.drop)
    locations = request.locations()
    segments: list[Segment] = []
    total = 0
    items: list[ItemPlan] = []
    labels: dict[int, int] = {}
    probed: dict[int, MediaInfo] = {}

    def probe_part(index: int) -> MediaInfo:
        """Each media part's header is read once per request."""
        if index not in probed:
            source = parts[index].source
            probed[index] = probe(
                source, max_pixels=limits.max_pixels, max_duration=limits.max_duration
            )
        return probed[index]

    pieces = render(request, template)
    pieces = _with_view_text(pieces, request, profile, limits, probe_part, images)
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
            where = f"{locations[piece.part]} ({part.name})"
            check(
                piece.kind in profile.modalities,
                where,
                f"profile {profile.name} does not accept {piece.kind} input "
                f"(it takes {', '.join(profile.modalities) or 'text only'})",
            )
            info = probe_part(piece.part)
            check(
                info.kind == piece.kind,
                where,
                f"{piece.kind} part, but the file is {article(info.kind)} {info.kind}",
            )
            extra = {"images": images} if piece.kind == "image" else {}
            item = _KINDS[piece.kind](part, info, profile, tok, piece, where, limits, **extra)
            items.append(item)
            segments.append(item.segment)
            if piece.label:
                labels[piece.part] = len(tok.encode(piece.label))
        total += len(segments[-1].ids)
        limits.check_request(total)
    fused = {it.audio is not None for it in items if it.kind == "video"}
    check(
        len(fused) < 2,
        "request",
        "use_audio_in_video must be the same for every video of a request (the model's "
        "position rule takes one flag)",
    )
    ids, mods, spans = assemble(segments)
    names = [*template.controls, *profile.tokens.names().values()]
    special = {t: tok.specials[t] for t in names if t in tok.specials}
    special.update({k: v for k, v in (("bos", tok.bos_id), ("eos", tok.eos_id)) if v is not None})
    return _Layout(ids, mods, spans, tuple(items), labels, special)


# --- counts ---------------------------------------------------------------------------------


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


def modality_totals(modality_ids: np.ndarray) -> dict[str, int]:
    """Tokens per modality name (``text``, ``image``, ``video``, ``audio``, ``special``)."""
    counts = np.bincount(modality_ids.astype(np.int64), minlength=len(Modality))
    return {m.name.lower(): int(counts[m]) for m in Modality}


def _count(layout: _Layout | SequencePlan) -> RequestCount:
    labels = layout.labels
    parts = tuple(
        PartCount(it.part, it.kind, it.index, it.source, it.grid,
                  len(it.segment.ids) + labels.get(it.part, 0), labels.get(it.part, 0))
        for it in layout.items
    )  # fmt: skip
    total = len(layout.input_ids)
    return RequestCount(
        total,
        total - sum(p.tokens for p in parts),
        parts,
        modality_totals(layout.modality_ids),
        layout.spans,
    )


def count_request(
    request: Request | Mapping[str, Any],
    profile: ProfileLike,
    tokenizer: TokenizerLike = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> RequestCount:
    """Count a request without decoding any media (headers are probed, text tokenized).

    ``profile`` is a :class:`Profile`, a built-in name or a local model folder; ``limits``
    bound each item and the request (:class:`~mmtok.limits.Limits`).
    """
    profile = as_profile(profile)
    request = parse_request(request)
    return _count(_lay_out(request, profile, resolve_tokenizer(profile, tokenizer), limits))


# --- the plan -------------------------------------------------------------------------------


def grids(items: Sequence[ItemPlan], kind: str) -> np.ndarray:
    """``(n, 3)`` int64 ``(t, h, w)`` grids of the items of one kind, in order."""
    return np.array([it.grid for it in items if it.kind == kind], dtype=np.int64).reshape(-1, 3)


def positions(
    modality_ids: np.ndarray,
    image_grid_thw: np.ndarray,
    video_grid_thw: np.ndarray,
    second_per_grid_ts: np.ndarray,
    profile: Profile,
    advance: Advance = "spatial",
    audio_videos: Sequence[tuple[int, int, int]] = (),
) -> tuple[np.ndarray, int]:
    """Position ids ``(P, L)`` and the rope delta of one unpadded sequence under ``profile``.

    ``audio_videos``: ``(video number, index of its audio start fence, audio tokens)`` of
    each video whose audio track is interleaved with its frames."""
    if profile.rope == "1d":
        return rope_1d(len(modality_ids)), 0
    advance = profile.rope_advance or advance
    if profile.rope == "mrope-frames":  # each temporal patch its own item (timestamps between)
        video_grid_thw = frame_grids(video_grid_thw)
    steps = video_time_steps(second_per_grid_ts, profile.tokens_per_second, len(video_grid_thw))
    keep = np.ones(len(video_grid_thw), dtype=bool)
    fused = []
    for v, start, audio_tokens in audio_videos:
        assert profile.audio_in_video_chunk is not None and profile.tokens_per_second is not None
        keep[v] = False
        rel, adv = audio_video_positions(
            video_grid_thw[v], audio_tokens, float(second_per_grid_ts[v]),
            merge_size=profile.merge_size, ticks_per_second=profile.tokens_per_second,
            ticks_per_chunk=int(profile.tokens_per_second * profile.audio_in_video_chunk),
        )  # fmt: skip
        fused.append((start, rel, adv))
    return mrope(
        modality_ids,
        image_grid_thw,
        video_grid_thw[keep],
        merge_size=profile.merge_size,
        video_steps=steps[keep],
        advance=advance,
        fused=fused,
    )


@dataclass(frozen=True)
class SequencePlan:
    """One request as the model will see it, known from headers alone (no tensors).

    ``input_ids``, ``modality_ids`` ``(L,)``; ``position_ids`` ``(1, L)`` (1D) or ``(3, L)``
    (M-RoPE); ``rope_delta`` where generation continues minus ``L``; ``spans`` the text runs
    and media items; ``image_grid_thw`` ``(n, 3)`` and ``video_grid_thw`` ``(v, 3)`` encoder
    patch grids; ``second_per_grid_ts`` ``(v,)`` seconds per temporal patch;
    ``special_tokens`` token string → id (plus ``bos``/``eos``); ``items`` the per-item
    plans :func:`mmtok.fusion.tensors.load` decodes.
    """

    input_ids: np.ndarray
    modality_ids: np.ndarray
    position_ids: np.ndarray
    rope_delta: int
    spans: tuple[Span, ...]
    image_grid_thw: np.ndarray
    video_grid_thw: np.ndarray
    second_per_grid_ts: np.ndarray
    special_tokens: dict[str, int]
    items: tuple[ItemPlan, ...]
    labels: dict[int, int]
    profile: Profile = field(repr=False)

    def count(self) -> RequestCount:
        """The plan's token counts (as :func:`count_request` gives them)."""
        return _count(self)

    def to_json(self) -> dict[str, Any]:
        """Plain lists: what ``mmtok tokenize --json`` prints."""
        return {
            "profile": self.profile.name,
            "input_ids": self.input_ids.tolist(),
            "attention_mask": [1] * len(self.input_ids),
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
            "modality_totals": modality_totals(self.modality_ids),
        }


def plan_sequence(
    request: Request | Mapping[str, Any],
    profile: ProfileLike,
    tokenizer: TokenizerLike = None,
    *,
    advance: Advance = "spatial",
    limits: Limits = DEFAULT_LIMITS,
) -> SequencePlan:
    """The token sequence, positions and grids of one request, decoding nothing.

    ``profile`` is a :class:`Profile`, a built-in name or a local model folder. ``advance``
    picks where text after an M-RoPE item continues (see :mod:`mmtok.fusion.positions`):
    ``"spatial"`` (transformers 5, the default) or ``"max"`` (Qwen's published rule).
    ``limits`` bound each item and the request (:class:`~mmtok.limits.Limits`).
    """
    profile = as_profile(profile)
    request = parse_request(request)
    layout = _lay_out(request, profile, resolve_tokenizer(profile, tokenizer), limits)
    image_grid = grids(layout.items, "image")
    video_grid = grids(layout.items, "video")
    spg = np.array(
        [it.seconds_per_grid for it in layout.items if it.kind == "video"], dtype=np.float32
    )
    videos = [it for it in layout.items if it.kind == "video"]
    starts = {s.index: s.start for s in layout.spans if s.modality == "video"}
    opens = int(profile.tokens.video_start is not None)  # the audio fence follows the video's
    audio_videos = [
        (v, starts[it.index] + opens, it.audio.tokens)
        for v, it in enumerate(videos)
        if it.audio is not None
    ]
    pos, delta = positions(
        layout.modality_ids, image_grid, video_grid, spg, profile, advance, audio_videos
    )
    return SequencePlan(
        input_ids=layout.input_ids,
        modality_ids=layout.modality_ids,
        position_ids=pos,
        rope_delta=delta,
        spans=layout.spans,
        image_grid_thw=image_grid,
        video_grid_thw=video_grid,
        second_per_grid_ts=spg,
        special_tokens=layout.special_tokens,
        items=layout.items,
        labels=layout.labels,
        profile=profile,
    )
