"""Rotary position ids: 1D for most families, 3D M-RoPE (t, h, w) for the Qwen-VL and GLM-4V
families.

M-RoPE rule (vectorised, no per-token Python loop):

- text and control tokens advance all three axes together by 1;
- an image item starting at position ``s`` over its merged grid ``(1, H, W)`` takes
  ``(s, s + row, s + col)``;
- a video item takes ``(s + ⌊τ · step⌋, s + row, s + col)`` for temporal patch ``τ``, where
  ``step`` is 1 for Qwen2-VL and ``tokens_per_second × seconds per temporal patch`` for
  Qwen2.5-VL (float32 arithmetic, truncated, as the reference);
- the text after an item continues from ``advance``: ``"spatial"`` (the default, exactly
  transformers 5.x ``get_rope_index``, the installed reference): ``s + max(H, W)``, which
  ignores the temporal extent; ``"max"`` (Qwen's published rule, as transformers 4.x and
  vLLM implement it): the item's largest position + 1. Both agree for images and for videos
  whose scaled time span does not exceed their spatial side.

Qwen2.5-Omni's video with its audio track interleaved (``use_audio_in_video``) is placed by
its own rule (:func:`audio_video_positions`): both start fences at one position, video and
audio tokens in 2 s chunks at their time ticks, both end fences after the last chunk.

Qwen3-VL and GLM-4V (``rope="mrope-frames"``) write a timestamp text between the temporal
patches of a video, so each patch is its own item of grid ``(1, H, W)`` (:func:`frame_grids`),
placed like an image; their timestamps are text, not temporal positions.

The M-RoPE delta is ``max(position) + 1 - length``: where generated tokens continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from mmtok.fusion.layout import Modality, interleave, tick_chunks

Advance = Literal["max", "spatial"]
_FUSED = 9  # run code of a video interleaved with its audio track (not a modality id)


def rope_1d(length: int) -> np.ndarray:
    """``(1, L)`` int64: ``0 … L-1``."""
    return np.arange(length, dtype=np.int64)[None, :]


def video_time_steps(
    second_per_grid_ts: np.ndarray | list[float] | None,
    tokens_per_second: float | None,
    num_videos: int,
) -> np.ndarray:
    """``(V,)`` float32 temporal position step per temporal patch of each video: 1 without
    ``tokens_per_second`` (Qwen2-VL), else ``tokens_per_second × second_per_grid_t``."""
    if tokens_per_second is None or second_per_grid_ts is None:
        return np.ones(num_videos, dtype=np.float32)
    spg = np.asarray(second_per_grid_ts, dtype=np.float32).reshape(-1)
    return np.float32(tokens_per_second) * spg


def frame_grids(video_grid_thw: np.ndarray) -> np.ndarray:
    """``(V, 3)`` video grids → ``(Σt, 3)``: every temporal patch its own ``(1, h, w)`` grid."""
    grids = np.asarray(video_grid_thw, dtype=np.int64).reshape(-1, 3)
    out = np.repeat(grids, grids[:, 0], axis=0)
    out[:, 0] = 1
    return out


def audio_video_positions(
    grid_thw: Sequence[int],
    audio_tokens: int,
    seconds_per_grid: float,
    *,
    merge_size: int,
    ticks_per_second: float,
    ticks_per_chunk: int,
) -> tuple[np.ndarray, int]:
    """Qwen2.5-Omni's positions of a video with its audio track interleaved, relative to the
    item's first position: ``(3, n + 2)`` int64 from its audio start fence (at ``-1``, beside
    the video start fence) to its audio end fence, and where the text after continues (the
    last chunk's largest position + 1, where the end fence also sits).

    Video token ``(τ, r, c)`` sits at ``(⌊τ · spg · tps⌋, r, c)`` (float32, as the model),
    audio token ``i`` at ``(i, i, i)``; both are cut into chunks of ``ticks_per_chunk`` by
    those integer ticks (:func:`~mmtok.fusion.layout.tick_chunks`) and interleaved."""
    t, h, w = (int(grid_thw[0]), int(grid_thw[1]) // merge_size, int(grid_thw[2]) // merge_size)
    steps = np.arange(t, dtype=np.float32) * np.float32(seconds_per_grid)
    ticks = (steps * np.float32(ticks_per_second)).astype(np.int64)
    video = np.stack(
        [
            np.repeat(ticks, h * w),
            np.tile(np.repeat(np.arange(h, dtype=np.int64), w), t),
            np.tile(np.arange(w, dtype=np.int64), t * h),
        ]
    )  # (3, t·h·w)
    audio = np.broadcast_to(np.arange(audio_tokens, dtype=np.int64), (3, audio_tokens))
    source = {Modality.VIDEO: video, Modality.AUDIO: audio}
    chunks = interleave(
        tick_chunks(video[0], ticks_per_chunk), tick_chunks(audio[0], ticks_per_chunk)
    )
    blocks = [source[m][:, a:b] for m, a, b in chunks]
    end = int(blocks[-1].max()) + 1
    fences = np.array([[-1], [-1], [-1]], dtype=np.int64), np.full((3, 1), end, dtype=np.int64)
    return np.concatenate([fences[0], *blocks, fences[1]], axis=1), end


def _runs(vision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of every maximal run of one nonzero code (image or video tokens)."""
    edges = np.flatnonzero(vision[1:] != vision[:-1]) + 1
    edges = np.concatenate(([0], edges, [len(vision)]))
    inside = vision[edges[:-1]] > 0  # each edge opens a run of the code found there
    return edges[:-1][inside], edges[1:][inside]


def mrope(
    modality_ids: np.ndarray,
    image_grid_thw: np.ndarray | None,
    video_grid_thw: np.ndarray | None,
    *,
    merge_size: int,
    video_steps: np.ndarray | None = None,
    advance: Advance = "spatial",
    fused: Sequence[tuple[int, np.ndarray, int]] = (),
) -> tuple[np.ndarray, int]:
    """M-RoPE position ids of one unpadded sequence and its delta.

    ``modality_ids`` ``(L,)``: each image or video item is one run of ``IMAGE``/``VIDEO``
    tokens (fences between items); ``*_grid_thw`` ``(n, 3)`` encoder patch grids in order;
    ``video_steps`` ``(V,)`` from :func:`video_time_steps`. ``fused``: items placed by
    their own relative positions, ``(start index, (3, n) positions, advance)`` each (a video
    with its audio track, :func:`audio_video_positions`; not among ``video_grid_thw``).
    Returns ``(3, L)`` int64 and the delta. Raises ``ValueError`` when runs and grids
    disagree.
    """
    mod = np.asarray(modality_ids)
    length = len(mod)
    if not length:
        return np.zeros((3, 0), dtype=np.int64), 0
    image, video = int(Modality.IMAGE), int(Modality.VIDEO)  # plain ints: fast comparisons
    vision = np.where((mod == image) | (mod == video), mod, 0).astype(np.int8)
    for start, rel, _ in fused:
        vision[start : start + rel.shape[1]] = _FUSED
    starts, ends = _runs(vision)
    kinds = vision[starts]
    k = len(starts)
    grids = np.zeros((k, 3), dtype=np.int64)
    steps = np.ones(k, dtype=np.float32)
    for code, given, step in ((image, image_grid_thw, None), (video, video_grid_thw, video_steps)):
        sel = kinds == code
        given = np.zeros((0, 3), np.int64) if given is None else np.asarray(given).reshape(-1, 3)
        if int(sel.sum()) != len(given):
            raise ValueError(
                f"{int(sel.sum())} {Modality(code).name.lower()} runs but {len(given)} grids"
            )
        grids[sel] = given
        if step is not None:
            steps[sel] = step
    fused_sel = kinds == _FUSED
    if int(fused_sel.sum()) != len(fused):
        raise ValueError(f"{int(fused_sel.sum())} fused runs but {len(fused)} fused items")
    t = grids[:, 0]
    h = grids[:, 1] // merge_size
    w = grids[:, 2] // merge_size
    grid_tokens = t * h * w  # fused items have no grid here: 0 rows, 0 tokens
    n = grid_tokens.copy()
    n[fused_sel] = [rel.shape[1] for _, rel, _ in fused]
    if not np.array_equal(n, ends - starts):
        runs, sizes = (ends - starts).tolist(), n.tolist()
        raise ValueError(f"item token runs {runs} do not match grids {sizes}")

    # Temporal offset of each temporal patch: float32 multiply, then truncate (reference).
    t_last = ((t - 1).astype(np.float32) * steps).astype(np.int64)
    spatial = np.maximum(h, w)
    adv = np.maximum(t_last + 1, spatial) if advance == "max" else spatial
    adv[fused_sel] = [a for _, _, a in fused]

    # Per-token values are per-item (or per-row) values repeated: no scatter loop and no
    # per-token Python. Text is shifted by what the items before it added beyond their own
    # length.
    added = np.concatenate(([0], np.cumsum(adv - n)))
    shift = np.repeat(added, np.diff(np.concatenate(([0], ends, [length]))))
    pos = np.empty((3, length), dtype=np.int64)
    pos[:] = np.arange(length, dtype=np.int64) + shift
    if not k:
        return pos, 0
    # Vision tokens, item after item: item k has t·h rows of w tokens each.
    first = starts + added[:-1]  # position where each item begins
    rows = t * h
    row_item = np.repeat(np.arange(k), rows)
    row_in_item = np.arange(int(rows.sum())) - np.repeat(np.cumsum(rows) - rows, rows)
    frame = row_in_item // h[row_item]
    time_pos = first[row_item] + (frame.astype(np.float32) * steps[row_item]).astype(np.int64)
    height_pos = first[row_item] + row_in_item - frame * h[row_item]
    row_w = w[row_item]
    row_start = np.cumsum(row_w) - row_w  # index of each row's first vision token
    vis = (vision == image) | (vision == video)
    # Row views, then a boolean mask: numpy's fast path (``pos[0, vis]`` is ~7× slower).
    pos[0][vis] = np.repeat(time_pos, row_w)
    pos[1][vis] = np.repeat(height_pos, row_w)
    pos[2][vis] = np.arange(int(grid_tokens.sum())) - np.repeat(row_start - first[row_item], row_w)
    for (start, rel, _), base in zip(fused, first[fused_sel], strict=True):
        pos[:, start : start + rel.shape[1]] = base + rel
    return pos, int(pos.max()) + 1 - length
