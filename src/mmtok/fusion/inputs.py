"""Encoded requests → padded batches and the keyword arguments of a transformers ``forward``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmtok.errors import RequestError
from mmtok.fusion.layout import Span
from mmtok.fusion.plan import TokenizerLike
from mmtok.fusion.positions import Advance
from mmtok.fusion.request import Request
from mmtok.fusion.tensors import Encoded, encode
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.image.pixels import ImageTensors, stack_images
from mmtok.profiles import ProfileLike, as_profile
from mmtok.profiles.base import Profile

if TYPE_CHECKING:  # transformers loads only when model inputs are built
    from transformers.feature_extraction_utils import BatchFeature


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

    def to_model_inputs(self) -> BatchFeature:
        """Keyword arguments of the matching transformers model's ``forward``, as torch
        tensors: ids, mask and position ids always; ``mm_token_type_ids`` for M-RoPE;
        ``pixel_values`` (+ ``image_grid_thw`` / ``image_sizes`` as the family takes them);
        ``pixel_values_videos``, ``video_grid_thw`` and, for Qwen2.5-VL,
        ``second_per_grid_ts`` (Qwen2.5-Omni: ``video_second_per_grid``, no
        ``mm_token_type_ids``, and ``use_audio_in_video=True`` when its videos carry their
        audio; ``Profile.input_names``) (LLaVA-OneVision: ``pixel_values_videos``
        ``(videos, frames, 3, h, w)`` alone); audio ``input_features`` + ``feature_attention_mask``.

        A transformers ``BatchFeature`` (what its processors return): a mapping to pass as
        ``model(**inputs)``, with ``inputs.to(device)`` / ``.to(device, dtype=…)`` (only
        floating-point tensors take the dtype)."""
        import torch
        from transformers.feature_extraction_utils import BatchFeature

        profile = self.rows[0].profile
        out: dict[str, Any] = {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "position_ids": self.position_ids if profile.rope != "1d" else self.position_ids[0],
        }
        if profile.token_type_ids:  # Gemma 3: 1 on image tokens (bidirectional attention)
            out["token_type_ids"] = (self.modality_ids == 1).astype(np.int64)
        if profile.rope != "1d":
            # transformers' token types: text 0, image 1, video 2 (fences and controls are text)
            out["mm_token_type_ids"] = np.where(self.modality_ids <= 2, self.modality_ids, 0)
        images = [t for row in self.rows for t in row.images]
        if images:
            out.update(_image_inputs(images, profile))
        if images and profile.several_images is not None:  # LLaVA-OneVision: images per row
            out["batch_num_images"] = np.array([len(r.images) for r in self.rows if r.images])
        videos = [v for row in self.rows for v in row.videos]
        if videos and profile.video_inputs == "frames":  # LLaVA-OneVision: whole frames
            out["pixel_values_videos"] = _frame_stack([v.pixel_values for v in videos])
        elif videos:
            out["pixel_values_videos"] = np.concatenate([v.pixel_values for v in videos])
            out["video_grid_thw"] = np.concatenate([r.video_grid_thw for r in self.rows])
            if profile.tokens_per_second is not None:
                spg = [r.second_per_grid_ts for r in self.rows]
                out["second_per_grid_ts"] = np.concatenate(spg)
        audios = [a for row in self.rows for a in row.audios]
        if audios:  # one row per window; the mask under the encoder's own name (or none)
            out["input_features"] = np.concatenate([a.input_features for a in audios])
            mask_key = profile.audio_encoder.mask_key
            if mask_key is not None:
                out[mask_key] = np.concatenate([a.feature_attention_mask for a in audios])
        for name, new in profile.input_names:  # the family's own names (None: not taken)
            if name in out:
                value = out.pop(name)
                out.update({new: value} if new is not None else {})
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
        if self.audio_in_video():  # Qwen2.5-Omni: generate() recomputes positions with it
            tensors["use_audio_in_video"] = True
        return BatchFeature(tensors)

    def audio_in_video(self) -> bool:
        """Whether the videos of these rows carry their audio tracks interleaved (one flag
        for the batch, as the model's ``use_audio_in_video``); rows that disagree are a
        :class:`RequestError`."""
        flags = {
            it.audio is not None
            for r in self.rows
            if r.plan is not None
            for it in r.plan.items
            if it.kind == "video"
        }
        if len(flags) > 1:
            raise RequestError(
                "cannot batch requests whose videos differ in use_audio_in_video (the model "
                "takes one flag)"
            )
        return True in flags


def _frame_stack(videos: Sequence[np.ndarray]) -> np.ndarray:
    """``(T, C, h, w)`` per video → ``(videos, T, C, h, w)``: the model's
    ``get_video_features`` takes one tensor, so every video must have as many frames."""
    counts = sorted({len(v) for v in videos})
    if len(counts) > 1:
        raise RequestError(
            f"videos of {' and '.join(map(str, counts))} sampled frames cannot share one "
            "pixel_values_videos tensor; sample the same number of frames from each"
        )
    return np.stack(videos)


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
    if stacked.pixel_attention_mask is not None:  # Idefics3 / SmolVLM
        out["pixel_attention_mask"] = stacked.pixel_attention_mask
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
    if any(r.profile != rows[0].profile for r in rows[1:]):
        names = sorted({r.profile.name for r in rows})
        raise RequestError(f"cannot batch requests of different profiles: {names}")
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
    profile: ProfileLike,
    tokenizer: TokenizerLike = None,
    *,
    padding: Literal["right", "left"] = "right",
    pad_id: int = 0,
    advance: Advance = "spatial",
) -> EncodedBatch:
    """:func:`encode` every request, then :func:`batch` them."""
    profile = as_profile(profile)
    tok = resolve_tokenizer(profile, tokenizer)
    rows = [encode(r, profile, tok, advance=advance) for r in requests]
    return batch(rows, padding=padding, pad_id=pad_id)
