"""Placeholder expansion: one media item → its run of token ids and modality ids.

Profiles are data; the expansion reads only ``Profile.layout`` and the profile's special
tokens, so a family with a new layout adds one function to :data:`IMAGE_LAYOUTS`:

- ``pad`` (Qwen, LLaVA-1.5, generic): ``[start] N×image [end]`` (fences where the profile
  has them);
- ``rows`` (Pixtral): ``rows × (cols×[IMG] + [IMG_BREAK])``, the last break ``[IMG_END]``;
- ``anyres`` (LLaVA-NeXT): ``N×<image>``, newline positions included (the model inserts
  its newline embedding there);
- video: ``[start] frame [sep] frame … [end]``, each temporal patch ``rows×cols`` tokens,
  the separator and per-frame timestamp texts only where the profile has a separator;
- audio: ``[start] N×audio [end]`` per encoder window (30 s).

Tokens the encoder output replaces carry their modality id; fences, breaks and separators
are ``SPECIAL``; timestamp texts are ``TEXT``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

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


MODALITY_OF_KIND = {"image": Modality.IMAGE, "video": Modality.VIDEO, "audio": Modality.AUDIO}


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


_ROLES = {
    "image": ("image", "image_start", "image_end", "image_break"),
    "video": ("video", "video_start", "video_end", "frame_sep"),
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


IMAGE_LAYOUTS: dict[str, Callable[[ImagePlan, Profile, Mapping[str, int]], Segment]] = {
    "pad": _image_pad,
    "rows": _image_rows,
    "anyres": _image_pad,
}


def image_segment(plan: ImagePlan, profile: Profile, ids: Mapping[str, int], index: int) -> Segment:
    """One image's expansion under ``profile.layout`` (its fences included)."""
    seg = IMAGE_LAYOUTS[profile.layout](plan, profile, ids)
    return Segment(seg.ids, seg.modality, "image", index)


def video_segment(
    groups: int,
    group_tokens: int,
    ids: Mapping[str, int],
    index: int,
    stamps: Sequence[Sequence[int]] = (),
) -> Segment:
    """A video of ``groups`` temporal patches of ``group_tokens`` tokens each, fenced; with a
    ``frame_sep`` the groups are separated and each is preceded by its timestamp ``stamps``
    (token ids, one list per group, may be empty)."""
    if "frame_sep" not in ids:
        body = [(ids["video"], groups * group_tokens, Modality.VIDEO)]
    else:
        body = []
        for g in range(groups):
            if g:
                body.append((ids["frame_sep"], 1, Modality.SPECIAL))
            if stamps:
                body.append((list(stamps[g]), 1, Modality.TEXT))
            body.append((ids["video"], group_tokens, Modality.VIDEO))
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
