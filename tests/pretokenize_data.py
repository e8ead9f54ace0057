"""A small mixed dataset for the pretokenize tests, written on the fly: good requests of
every form, and one bad row of each kind the issue names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.images import encode, png_claiming, random_image
from tests.media_factory import gradient_frame, write_video


def write_media(folder: Path, video: bool = False) -> None:
    """``wide.png`` 224×112 (Qwen grid 1×8×16), ``photo.jpg`` 300×200, ``big.png`` 1400×1000
    (over small budgets), ``corrupt.png`` (a header that probes but cannot be decoded) and,
    with ``video``, ``clip.mp4`` (1 s, 112×56, 30 fps)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wide.png").write_bytes(encode(random_image(224, 112, 1), "PNG"))
    (folder / "photo.jpg").write_bytes(encode(random_image(300, 200, 2), "JPEG"))
    (folder / "big.png").write_bytes(encode(random_image(1400, 1000, 3), "PNG"))
    (folder / "corrupt.png").write_bytes(png_claiming(64, 48))
    if video:
        write_video(folder / "clip.mp4", gradient_frame(112, 56), 30, width=112, height=56)


def image(path: str) -> dict[str, Any]:
    return {"type": "image", "path": path}


def chat(*content: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(content)}]}


GOOD: list[dict[str, Any]] = [
    {"id": "prompt-1", "prompt": "Describe <image>", "media": [image("wide.png")]},
    chat({"type": "text", "text": "Compare"}, image("wide.png"), image("photo.jpg")),
    {"prompt": "Just text, no media at all."},
    {"id": 42, "prompt": "<image> then <image>", "media": [image("photo.jpg"), image("wide.png")]},
    {"prompt": "A large one <image>", "media": [image("big.png")], "labels": True},
]

BAD: dict[str, str] = {
    "invalid JSON": '{"prompt": "unterminated',
    "missing file": json.dumps({"prompt": "<image>", "media": [image("nowhere.png")]}),
    "corrupt image": json.dumps({"prompt": "<image>", "media": [image("corrupt.png")]}),
    "placeholder mismatch": json.dumps(
        {"prompt": "<image> and <image>", "media": [image("wide.png")]}
    ),
}


def lines() -> list[str]:
    """The dataset's JSONL lines: good and bad rows interleaved, one blank line."""
    good = [json.dumps(r) for r in GOOD]
    bad = list(BAD.values())
    return [good[0], bad[0], good[1], good[2], "", bad[1], good[3], bad[2], good[4], bad[3]]


def write_jsonl(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def dataset(folder: Path) -> Path:
    """Media plus ``requests.jsonl`` (9 rows: 5 good, 4 bad) in ``folder``."""
    write_media(folder)
    return write_jsonl(folder / "requests.jsonl", lines())


def varied(folder: Path, n: int, seed: int = 0) -> Path:
    """Media plus ``varied.jsonl``: ``n`` requests of 1–80 words and 0–2 images (ids
    ``s0`` …), a clip in every fifth, and one invalid line at the end."""
    import numpy as np

    write_media(folder, video=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = int(rng.integers(0, 3))
        media = [image(("wide.png", "photo.jpg")[j % 2]) for j in range(k)]
        prompt = " ".join(["word"] * int(rng.integers(1, 80))) + " <image>" * k
        if i % 5 == 4:
            media.append({"type": "video", "path": "clip.mp4"})
            prompt += " <video>"
        rows.append(json.dumps({"id": f"s{i}", "prompt": prompt, "media": media}))
    return write_jsonl(folder / "varied.jsonl", [*rows, '{"prompt": "unterminated'])
