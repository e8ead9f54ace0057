"""Claim: planning is header-only, so a request with 20 images and a 10-minute video plans in
milliseconds; compared with processing the same request with the reference processors.

Usage: .venv/bin/python -m bench.plan_speed [--runs 5]

The peer decodes and processes every image with transformers' ``Qwen2VLImageProcessorPil`` and
decodes the video, running the same processor on the frames the 2 fps rule samples
(transformers' own video processor needs torchvision, which this machine cannot install; the
per-frame image path is the closest reference and is cheaper than the real one, so the ratio is
conservative).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import av
import numpy as np
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from bench.corpus import jpeg_corpus
from mmtok.budget.plan import plan_request
from mmtok.fusion.request import parse_request
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.image.decode import decode_image
from mmtok.profiles import get_profile
from mmtok.video.sampling import fps_indices, sampling_for


def _write_video(path: Path, seconds: int = 600, fps: int = 30) -> None:
    if path.exists():
        return
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"g": "60"}
        for i in range(seconds * fps):
            arr = np.full((240, 320, 3), (i // 90) % 256, dtype=np.uint8)
            arr[:, (i * 3) % 320 :][:, :6] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mmtok-bench-plan")
    args = ap.parse_args()
    images = jpeg_corpus(args.dir, 20, lo=400, hi=2000, seed=11)
    video = args.dir / "ten_minutes.mp4"
    _write_video(video)
    content = [{"type": "text", "text": "Summarise the slides and the lecture."}]
    content += [{"type": "image", "path": str(p)} for p in images]
    content += [{"type": "video", "path": str(video)}]
    request = parse_request({"messages": [{"role": "user", "content": content}]})
    profile = get_profile("qwen2-vl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = resolve_tokenizer(profile)

    def ours() -> int:
        return plan_request(request, profile, tok, context=128_000).input_tokens

    proc = Qwen2VLImageProcessorPil()

    def peer() -> None:
        for p in images:
            proc(images=[decode_image(p)], return_tensors="np")
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            total = stream.frames
            fps = float(stream.average_rate)
            keep = set(fps_indices(total, fps, sampling_for(profile)).tolist())
            for i, frame in enumerate(container.decode(stream)):
                if i in keep:
                    proc(images=[frame.to_image()], return_tensors="np")

    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        tokens = ours()
        times.append(time.perf_counter() - start)
    t_ours = statistics.median(times)
    start = time.perf_counter()
    peer()
    t_peer = time.perf_counter() - start
    print(f"request: 20 JPEGs (400–2000 px) + 10-minute 30 fps video → {tokens:,} tokens")
    print(f"mmtok plan (header-only) : {t_ours * 1e3:8.1f} ms  ({1 / t_ours:,.1f} requests/s)")
    print(f"reference processing     : {t_peer:8.1f} s")
    print(f"ratio                    : {t_peer / t_ours:,.0f}×")


if __name__ == "__main__":
    main()
