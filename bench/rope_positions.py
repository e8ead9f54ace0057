"""Claim: mmtok's M-RoPE position ids are ≥ 10× faster than transformers' ``get_rope_index``.

Input: one 32,768-token Qwen2.5-VL request with 20 images and 2 videos interleaved with
text (built once with mmtok's layout, not timed). Timed: ``mmtok.fusion.plan.positions``
(NumPy) against ``Qwen2_5_VLModel.get_rope_index`` (torch, CPU) on the same ids, token
types, grids and seconds per temporal patch; both results are checked equal first
(``advance="spatial"``, transformers 5's rule). Prints the median and best of ``--runs``
runs each, and their ratios.

    .venv/bin/python -m bench.rope_positions --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from transformers import Qwen2_5_VLConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLModel

from mmtok.fusion.layout import assemble, image_segment, text_segment, video_segment
from mmtok.fusion.plan import positions
from mmtok.profiles import get_profile

LENGTH = 32_768
IDS = {"image": 151655, "image_start": 151652, "image_end": 151653}
VIDEO_IDS = {"video": 151656, "video_start": 151652, "video_end": 151653}


class _RopeIndex:
    """Just what ``get_rope_index`` reads from ``self``: the config and one helper."""

    get_rope_index = Qwen2_5_VLModel.get_rope_index
    get_vision_position_ids = Qwen2_5_VLModel.get_vision_position_ids

    def __init__(self) -> None:
        self.config = Qwen2_5_VLConfig(vision_config={"tokens_per_second": 2})


def build_request() -> dict[str, np.ndarray]:
    """20 images (500–800 × 700–1000 px) and 2 videos (16 temporal patches each) in 32k
    tokens of text, the videos after the 7th and 15th image."""
    profile = get_profile("qwen2.5-vl")
    rng = np.random.default_rng(0)
    plans = [
        profile.plan_image(int(rng.integers(500, 800)), int(rng.integers(700, 1000)))
        for _ in range(20)
    ]
    media = [image_segment(plan, profile, IDS, i) for i, plan in enumerate(plans)]
    videos = [(16, 24, 34), (16, 20, 36)]
    for i, (t, h, w) in enumerate(videos):
        media.insert(7 + 8 * i, video_segment(t, h * w // 4, VIDEO_IDS, i))
    gap = (LENGTH - sum(len(s.ids) for s in media)) // (len(media) + 1)
    segments = [text_segment(rng.integers(0, 150_000, gap))]
    for seg in media:
        segments += [seg, text_segment(rng.integers(0, 150_000, gap))]
    segments.append(
        text_segment(rng.integers(0, 150_000, LENGTH - sum(len(s.ids) for s in segments)))
    )
    ids, mods, _ = assemble(segments)
    return {
        "ids": ids,
        "mods": mods,
        "image": np.array([p.grid for p in plans], dtype=np.int64),
        "video": np.array(videos, dtype=np.int64),
        "spg": np.array([1.0, 0.5], dtype=np.float32),
    }


def timings(fn, runs: int) -> list[float]:
    """Seconds of ``runs`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)

    req = build_request()
    profile = get_profile("qwen2.5-vl")
    assert len(req["ids"]) == LENGTH

    def ours():
        return positions(req["mods"], req["image"], req["video"], req["spg"], profile, "spatial")

    model = _RopeIndex()
    ids = torch.from_numpy(req["ids"])[None]
    types = torch.from_numpy(np.where(req["mods"] <= 2, req["mods"], 0).astype(np.int64))[None]
    image, video = torch.from_numpy(req["image"]), torch.from_numpy(req["video"])
    spg = torch.from_numpy(req["spg"])
    mask = torch.ones_like(ids)

    def theirs():
        return model.get_rope_index(
            ids, mm_token_type_ids=types, image_grid_thw=image, video_grid_thw=video,
            second_per_grid_ts=spg, attention_mask=mask,
        )  # fmt: skip

    pos, delta = ours()
    want, want_delta = theirs()
    assert pos.tolist() == want[:, 0].tolist() and delta == int(want_delta)

    ours_t, theirs_t = timings(ours, args.runs), timings(theirs, args.runs)
    med_ours, med_theirs = statistics.median(ours_t), statistics.median(theirs_t)
    n_img, n_vid = len(req["image"]), len(req["video"])
    print(f"input: {LENGTH:,} tokens, {n_img} images, {n_vid} videos (Qwen2.5-VL)")
    for name, t in (("mmtok positions     ", ours_t), ("get_rope_index (5.x)", theirs_t)):
        print(f"{name} median {statistics.median(t) * 1e3:8.2f} ms  best {min(t) * 1e3:8.2f} ms")
    best = min(theirs_t) / min(ours_t)
    print(f"ratio of medians: {med_theirs / med_ours:.1f}×  (best: {best:.1f}×)")


if __name__ == "__main__":
    main()
