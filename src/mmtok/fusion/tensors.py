"""A sequence plan → model tensors: the load step of ``encode`` (``encode = load ∘ plan``).

:func:`load` decodes and preprocesses exactly the media a :class:`SequencePlan` planned —
image pixels, the sampled video frames, audio features — and checks each against its plan:
a file whose decoded size or length disagrees with its header is a :class:`MediaError`, never
a sequence whose placeholders the tensors do not fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmtok.audio.plan import AudioPlan
from mmtok.errors import MediaError, UnsupportedMediaError
from mmtok.fusion.layout import Span
from mmtok.fusion.plan import ItemPlan, SequencePlan, TokenizerLike, plan_sequence
from mmtok.fusion.positions import Advance
from mmtok.fusion.request import Request
from mmtok.image.pixels import ImageTensors, preprocess_image
from mmtok.profiles import ProfileLike
from mmtok.profiles.base import Profile
from mmtok.video.plan import VideoPlan


@dataclass(frozen=True)
class Encoded:
    """One request as the model sees it: a :class:`SequencePlan` plus its tensors.

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
    plan: SequencePlan | None = field(default=None, repr=False, compare=False)

    def to_model_inputs(self) -> Any:
        """Keyword arguments of the matching transformers model's ``forward`` (batch of 1), as
        a ``BatchFeature`` (``.to(device)``); see :meth:`EncodedBatch.to_model_inputs`."""
        from mmtok.fusion.inputs import batch

        return batch([self]).to_model_inputs()

    def to_json(self) -> dict[str, Any]:
        """Plain lists: what ``mmtok tokenize --json`` prints (the plan's JSON)."""
        assert self.plan is not None
        return self.plan.to_json()


def _load_image(item: ItemPlan) -> ImageTensors:
    tensors = preprocess_image(item.input, item.profile)
    if tensors.plan != item.detail:
        raise MediaError(item.source, "decoded image size differs from its header")
    return tensors


def _load_video(item: ItemPlan) -> Any:
    from mmtok.video.pixels import load_frames  # torch: only when video pixels are asked for

    assert isinstance(item.detail, VideoPlan) and item.selection is not None
    if item.profile.video_frame_text is not None:  # frames as image views: counted, not loaded
        raise UnsupportedMediaError(
            item.source, f"video pixels of {item.profile.name} are not implemented (plan only)"
        )
    return load_frames(item.input, item.profile, item.selection, item.detail)


def _load_audio(item: ItemPlan) -> Any:
    from mmtok.audio.features import load_audio_features

    planned = item.audio if item.audio is not None else item.detail  # a video's own track
    assert isinstance(planned, AudioPlan)
    # checked there: decoding must give exactly the samples the header-side plan counted
    return load_audio_features(item.input, item.profile, plan=planned)


_LOADERS = {"image": _load_image, "video": _load_video, "audio": _load_audio}


def load(plan: SequencePlan) -> Encoded:
    """Decode and preprocess the media of ``plan`` into the tensors its sequence expects."""
    loaded = {kind: [] for kind in _LOADERS}  # type: dict[str, list[Any]]
    for item in plan.items:
        loaded[item.kind].append(_LOADERS[item.kind](item))
        if item.audio is not None:  # its audio track, in sequence order with the other audio
            loaded["audio"].append(_load_audio(item))
    return Encoded(
        input_ids=plan.input_ids,
        attention_mask=np.ones(len(plan.input_ids), dtype=np.int64),
        modality_ids=plan.modality_ids,
        position_ids=plan.position_ids,
        rope_delta=plan.rope_delta,
        spans=plan.spans,
        images=tuple(loaded["image"]),
        videos=tuple(loaded["video"]),
        audios=tuple(loaded["audio"]),
        image_grid_thw=plan.image_grid_thw,
        video_grid_thw=plan.video_grid_thw,
        second_per_grid_ts=plan.second_per_grid_ts,
        special_tokens=plan.special_tokens,
        profile=plan.profile,
        plan=plan,
    )


def encode(
    request: Request | Mapping[str, Any],
    profile: ProfileLike,
    tokenizer: TokenizerLike = None,
    *,
    advance: Advance = "spatial",
) -> Encoded:
    """Plan ``request`` (headers only; a bad request fails here), then :func:`load` it."""
    return load(plan_sequence(request, profile, tokenizer, advance=advance))
