"""Placeholder expansion: one media item → its run of token ids and modality ids.

Profiles are data; the expansion reads only ``Profile.layout`` and the profile's special
tokens, so a family with a new layout adds one function to :data:`IMAGE_LAYOUTS`:

- ``pad`` (Qwen, LLaVA-1.5, generic): ``[start] N×image [end]`` (fences where the profile
  has them);
- ``rows`` (Pixtral): ``rows × (cols×[IMG] + [IMG_BREAK])``, the last break ``[IMG_END]``;
- ``anyres`` (LLaVA-NeXT): ``N×<image>``, newline positions included (the model inserts
  its newline embedding there);
- ``dynamic`` (InternVL): ``<img>`` + 256×``<IMG_CONTEXT>`` per tile and thumbnail + ``</img>``;
- ``split`` (Idefics3 / SmolVLM): per sub-image ``<fake_token_around_image><row_i_col_j>`` +
  placeholders, ``\n`` text after each row, then the fenced ``<global-img>`` view;
- video: ``[start] frame [sep] frame … [tail] [end]``, each temporal patch ``rows×cols`` tokens
  (LLaVA-OneVision: pooled, then one newline ``<video>`` as the tail),
  fenced by ``frame_start``/``frame_end`` where the profile has them (Qwen3-VL, GLM-4V), the
  separator only where it has one, each patch's timestamp text before it (or after it, GLM-4V)
  where the profile writes timestamps; frames as image views (InternVL3, SmolVLM2) are
  patches fenced like images with their labels (``FrameN:``, ``Frame from MM:SS:``) between;
- audio: ``[start] N×audio [end]`` per encoder window (30 s);
- a video with its audio track (Qwen2.5-Omni): ``[video start][audio start]`` video and audio
  tokens in alternating 2 s chunks ``[audio end][video end]``.

Tokens the encoder output replaces carry their modality id; fences, breaks and separators
are ``SPECIAL``; timestamp texts are ``TEXT``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import pairwise
from typing import Protocol

import numpy as np

from mmtok.image.policies import ImagePlan
from mmtok.profiles.base import Profile, SpecialTokens


class Modality(IntEnum):
    """Per-token modality ids; ``TEXT``/``IMAGE``/``VIDEO`` equal transformers'
    ``mm_token_type_ids`` (0, 1, 2)."""

    TEXT = 0
    IMAGE = 1
    VIDEO = 2
    AUDIO = 3
    SPECIAL = 4


@dataclass(frozen=True)
class Segment:
    """A run of tokens: ``ids`` ``(n,)`` int64 and ``modality`` ``(n,)`` int8, tagged with
    what it is (``kind`` ``text`` or a media kind) and, for media, the item ``index``."""

    ids: np.ndarray
    modality: np.ndarray
    kind: str = "text"
    index: int = -1


@dataclass(frozen=True)
class Span:
    """A contiguous run of the sequence: tokens ``[start, end)``; ``index`` is the item's
    index among its kind (its grid row), or the text run's number for ``text``."""

    modality: str
    index: int
    start: int
    end: int

    @property
    def tokens(self) -> int:
        return self.end - self.start


_TILE_ROLES = ("tile_sep", "tile_row_end", "image_global")  # Llama 4
_ROLES = {
    "image": ("image", "image_start", "image_end", "image_break", *_TILE_ROLES),
    "video": (
        *("video", "video_start", "video_end"),
        *("frame_sep", "frame_start", "frame_end", "frame_global"),
    ),
    "audio": ("audio", "audio_start", "audio_end"),
}


def media_token_ids(
    tokens: SpecialTokens, token_id: Callable[[str], int], kinds: Iterable[str]
) -> dict[str, int]:
    """Role → id of every token the layouts of ``kinds`` write (``image``, ``image_start``,
    …); roles the profile lacks are absent. ``token_id`` raises for a missing token."""
    names = tokens.names()
    return {r: token_id(names[r]) for k in kinds for r in _ROLES[k] if r in names}


def text_segment(ids: Sequence[int], modality: Modality = Modality.TEXT) -> Segment:
    """Text (or control) tokens."""
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    return Segment(arr, np.full(arr.shape, modality, dtype=np.int8))


def _runs(
    parts: Sequence[tuple[int | Sequence[int], int, Modality]],
) -> tuple[np.ndarray, np.ndarray]:
    """``(token or tokens, repeat, modality)`` runs → ``(ids, modality)`` arrays."""
    ids = [np.repeat(np.asarray(t, dtype=np.int64).reshape(-1), n) for t, n, _ in parts]
    mods = [np.full(len(i), m, dtype=np.int8) for i, (_, _, m) in zip(ids, parts, strict=True)]
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int8)
    return np.concatenate(ids), np.concatenate(mods)


def _fenced(
    body: list[tuple[int | Sequence[int], int, Modality]],
    ids: Mapping[str, int],
    start: str,
    end: str,
) -> list[tuple[int | Sequence[int], int, Modality]]:
    head = [(ids[start], 1, Modality.SPECIAL)] if start in ids else []
    tail = [(ids[end], 1, Modality.SPECIAL)] if end in ids else []
    return head + body + tail


def _image_pad(plan: ImagePlan, profile: Profile, ids: Mapping[str, int]) -> Segment:
    fences = int("image_start" in ids) + int("image_end" in ids)
    pads = plan.tokens - (fences if profile.tokens.fences_in_count else 0)
    parts = _fenced([(ids["image"], pads, Modality.IMAGE)], ids, "image_start", "image_end")
    return Segment(*_runs(parts), kind="image")


def _image_rows(plan: ImagePlan, profile: Profile, ids: Mapping[str, int]) -> Segment:
    rows, cols = plan.token_grid
    grid = np.full((rows, cols + 1), ids["image"], dtype=np.int64)
    grid[:, -1] = ids["image_break"]
    grid[-1, -1] = ids["image_end"]
    mods = np.full(grid.shape, Modality.IMAGE, dtype=np.int8)
    mods[:, -1] = Modality.SPECIAL
    return Segment(grid.reshape(-1), mods.reshape(-1), kind="image")


def _image_tiles(plan: ImagePlan, profile: Profile, ids: Mapping[str, int]) -> Segment:
    """Llama 4: ``<|image_start|>``, tile rows (tiles joined by ``tile_sep``, each row closed
    by ``tile_row_end``; only with several tiles), ``<|image|>``, the global view,
    ``<|image_end|>``."""
    assert plan.canvas is not None
    rows, cols = plan.canvas[0] // plan.resized[0], plan.canvas[1] // plan.resized[1]
    view = plan.token_grid[0] * plan.token_grid[1]
    parts: list[tuple[int | Sequence[int], int, Modality]] = [
        (ids["image_start"], 1, Modality.SPECIAL)
    ]
    if rows * cols > 1:
        for _ in range(rows):
            for c in range(cols):
                parts.append((ids["image"], view, Modality.IMAGE))
                if c < cols - 1:
                    parts.append((ids["tile_sep"], 1, Modality.SPECIAL))
            parts.append((ids["tile_row_end"], 1, Modality.SPECIAL))
    parts += [(ids["image_global"], 1, Modality.SPECIAL), (ids["image"], view, Modality.IMAGE)]
    parts.append((ids["image_end"], 1, Modality.SPECIAL))
    return Segment(*_runs(parts), kind="image")


class Encode(Protocol):
    """A text tokenizer's ``encode``; ``parse_special`` lets special-token strings through."""

    def __call__(self, text: str, *, parse_special: bool = False) -> Sequence[int]: ...


def _image_views(
    plan: ImagePlan, profile: Profile, ids: Mapping[str, int], encode: Encode
) -> Segment:
    """Gemma 3: each view ``<start_of_image>`` + soft tokens + ``<end_of_image>``; between
    views the processor's text (after the original view, then between crops), which special
    tokens bound on both sides, so it is tokenized alone. The text before the first view and
    after the last one is merged with the request's text (:func:`view_text_around`)."""
    vt = profile.view_text
    assert vt is not None
    view = [(ids["image"], plan.token_grid[0] * plan.token_grid[1], Modality.IMAGE)]
    fenced = _fenced(view, ids, "image_start", "image_end")
    parts = list(fenced)
    for v in range(1, plan.grid[0]):
        between = vt.after + (vt.crops if v == 1 else vt.crop_sep) + vt.before
        parts += [(list(encode(between)), 1, Modality.TEXT), *fenced]
    return Segment(*_runs(parts), kind="image")


def _image_split(
    plan: ImagePlan, profile: Profile, ids: Mapping[str, int], encode: Encode
) -> Segment:
    """Idefics3 / SmolVLM: per sub-image ``<fake_token_around_image>`` + its ``<row_i_col_j>``
    label + placeholders, ``\n`` after each row of sub-images, then ``\n`` +
    ``<fake_token_around_image>`` + ``<global-img>`` + the global view's placeholders +
    ``<fake_token_around_image>``. Special tokens bound every newline run, so each is
    tokenized alone (``\n\n`` after the last row); labels are tokenized as the processor
    writes them (one special token in the checkpoints' vocabularies)."""
    assert plan.canvas is not None and profile.tokens.tile_label is not None
    rows, cols = plan.canvas[0] // plan.resized[0], plan.canvas[1] // plan.resized[1]
    view = (ids["image"], plan.token_grid[0] * plan.token_grid[1], Modality.IMAGE)
    fake = (ids["image_start"], 1, Modality.SPECIAL)
    parts: list[tuple[int | Sequence[int], int, Modality]] = []
    if rows * cols > 1:
        for r in range(rows):
            for c in range(cols):
                label = profile.tokens.tile_label.format(row=r + 1, col=c + 1)
                parts += [fake, (list(encode(label, parse_special=True)), 1, Modality.SPECIAL)]
                parts.append(view)
            newlines = "\n\n" if r == rows - 1 else "\n"
            parts.append((list(encode(newlines)), 1, Modality.TEXT))
    parts += [fake, (ids["image_global"], 1, Modality.SPECIAL), view]
    parts.append((ids["image_end"], 1, Modality.SPECIAL))
    return Segment(*_runs(parts), kind="image")


def view_text_around(plan: ImagePlan, profile: Profile) -> tuple[str, str]:
    """``(before, after)``: the text a processor writes around an image's expansion, which
    the tokenizer sees joined with the request's neighbouring text (``("", "")``: none)."""
    vt = profile.view_text
    if vt is None:
        return "", ""
    return (vt.intro if plan.grid[0] > 1 else "") + vt.before, vt.after


IMAGE_LAYOUTS: dict[str, Callable[[ImagePlan, Profile, Mapping[str, int]], Segment]] = {
    "pad": _image_pad,
    "rows": _image_rows,
    "anyres": _image_pad,
    "tiles": _image_tiles,
    "dynamic": _image_pad,
}
TEXT_LAYOUTS: dict[str, Callable[[ImagePlan, Profile, Mapping[str, int], Encode], Segment]] = {
    "views": _image_views,
    "split": _image_split,
}
"""Layouts that write text between their tokens (tokenized with ``encode``)."""


def image_segment(
    plan: ImagePlan,
    profile: Profile,
    ids: Mapping[str, int],
    index: int,
    encode: Encode | None = None,
) -> Segment:
    """One image's expansion under ``profile.layout`` (its fences included); ``encode``
    tokenizes the text a ``TEXT_LAYOUTS`` layout writes inside it."""
    if profile.layout in TEXT_LAYOUTS:
        assert encode is not None
        seg = TEXT_LAYOUTS[profile.layout](plan, profile, ids, encode)
    else:
        seg = IMAGE_LAYOUTS[profile.layout](plan, profile, ids)
    return Segment(seg.ids, seg.modality, "image", index)


def video_segment(
    groups: int,
    group_tokens: int,
    ids: Mapping[str, int],
    index: int,
    stamps: Sequence[Sequence[int]] = (),
    *,
    stamps_after: bool = False,
    tail: int = 0,
) -> Segment:
    """A video of ``groups`` temporal patches of ``group_tokens`` tokens each, fenced; each
    patch in its own ``frame_start``/``frame_end`` fences where ``ids`` has them, patches
    joined by ``frame_sep`` where it has one, each preceded (``stamps_after``: followed) by
    its timestamp ``stamps`` (token ids, one list per group, may be empty); ``tail`` more
    video tokens after the last patch (LLaVA-OneVision's newline)."""
    per_patch = stamps or any(r in ids for r in ("frame_sep", "frame_start", "frame_end"))
    if not per_patch:
        body = [(ids["video"], groups * group_tokens, Modality.VIDEO)]
    else:
        body = []
        for g in range(groups):
            if g and "frame_sep" in ids:
                body.append((ids["frame_sep"], 1, Modality.SPECIAL))
            stamp = [(list(stamps[g]), 1, Modality.TEXT)] if stamps else []
            frame = [(ids["video"], group_tokens, Modality.VIDEO)]
            if "frame_global" in ids:  # SmolVLM: each frame a fenced ``<global-img>`` view
                frame.insert(0, (ids["frame_global"], 1, Modality.SPECIAL))
            body += [] if stamps_after else stamp
            body += _fenced(frame, ids, "frame_start", "frame_end")
            body += stamp if stamps_after else []
    body += [(ids["video"], tail, Modality.VIDEO)] if tail else []
    ids_, mods = _runs(_fenced(body, ids, "video_start", "video_end"))
    return Segment(ids_, mods, "video", index)


def audio_segment(window_tokens: Sequence[int], ids: Mapping[str, int], index: int) -> Segment:
    """An audio item: per encoder window, its placeholders, fenced where the profile has
    audio fences (each window is one fenced run)."""
    parts = []
    for n in window_tokens:
        parts += _fenced([(ids["audio"], n, Modality.AUDIO)], ids, "audio_start", "audio_end")
    ids_, mods = _runs(parts)
    return Segment(ids_, mods, "audio", index)


def tick_chunks(ticks: np.ndarray, per_chunk: float) -> list[tuple[int, int]]:
    """``[start, end)`` runs of tokens cut by their time ``ticks`` ``(n,)`` (non-decreasing):
    the ``k``-th cut falls at the first token whose tick is at least ``k · per_chunk``, and at
    most one cut falls on a token, so a tick past several boundaries opens one run per token
    (Qwen2.5-Omni's ``get_chunked_index``, in the processor and in the model alike)."""
    n, cuts, k = len(ticks), [0], 1
    while True:
        at = max(int(np.searchsorted(ticks, k * per_chunk, side="left")), cuts[-1] + (k > 1))
        if at >= n:
            break
        cuts.append(at)
        k += 1
    cuts.append(n)
    return list(pairwise(cuts))


def interleave(
    video: Sequence[tuple[int, int]], audio: Sequence[tuple[int, int]]
) -> list[tuple[Modality, int, int]]:
    """Video chunk ``j``, then audio chunk ``j``, for every ``j`` (the longer list's tail
    alone at the end): ``(modality, start, end)`` in sequence order."""
    out = []
    for j in range(max(len(video), len(audio))):
        out += [(Modality.VIDEO, *video[j])] if j < len(video) else []
        out += [(Modality.AUDIO, *audio[j])] if j < len(audio) else []
    return out


def audio_video_segment(
    groups: int,
    group_tokens: int,
    audio_tokens: int,
    seconds_per_group: float,
    ticks_per_second: float,
    ticks_per_chunk: int,
    ids: Mapping[str, int],
    index: int,
) -> Segment:
    """A video with its audio track interleaved (Qwen2.5-Omni's ``use_audio_in_video``):
    inside the video fences, the audio fences around alternating chunks of video tokens
    (temporal patch ``τ`` at tick ``τ · seconds_per_group · ticks_per_second``, in float64
    as the processor computes it) and audio tokens (token ``i`` at tick ``i``), cut every
    ``ticks_per_chunk`` ticks (:func:`tick_chunks`)."""
    patch_ticks = np.arange(groups, dtype=np.float64) * seconds_per_group * ticks_per_second
    ticks = np.repeat(patch_ticks, group_tokens)
    chunks = interleave(
        tick_chunks(ticks, ticks_per_chunk),
        tick_chunks(np.arange(audio_tokens, dtype=np.float64), ticks_per_chunk),
    )
    token = {Modality.VIDEO: ids["video"], Modality.AUDIO: ids["audio"]}
    body = [(token[m], b - a, m) for m, a, b in chunks]
    parts = _fenced(_fenced(body, ids, "audio_start", "audio_end"), ids, "video_start", "video_end")
    ids_, mods = _runs(parts)
    return Segment(ids_, mods, "video", index)


def assemble(segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray, tuple[Span, ...]]:
    """Concatenate segments → ``input_ids`` ``(L,)``, ``modality_ids`` ``(L,)`` and spans:
    one per media item, one per maximal run of text and control tokens between them."""
    spans: list[Span] = []
    pos = 0
    texts = 0
    for seg in segments:
        n = len(seg.ids)
        if seg.kind != "text":
            spans.append(Span(seg.kind, seg.index, pos, pos + n))
        elif n and spans and spans[-1].modality == "text":
            last = spans[-1]
            spans[-1] = Span("text", last.index, last.start, pos + n)
        elif n:
            spans.append(Span("text", texts, pos, pos + n))
            texts += 1
        pos += n
    if not segments:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), ()
    ids = np.concatenate([s.ids for s in segments])
    mods = np.concatenate([s.modality for s in segments])
    return ids, mods, tuple(spans)
