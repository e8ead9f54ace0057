"""Claim: hostile requests are refused (or done) in milliseconds and megabytes, not GB.

Usage: .venv/bin/python -m bench.request_bombs

Each bomb runs in a fresh process (so its peak memory is its own) after the imports and the
tokenizer are warm; printed: the outcome (the error's type and start, or ``ok``), the time of
the call and the peak resident memory it added (MB, ``ru_maxrss``). The peer figures — what
each bomb cost before the limits — are the issue's: 29 GiB asked for ``min_pixels: 10**12``,
2.3 GB for ``1e8`` in ``encode``, 3 GB then ``MemoryError`` for llava-1.5 on a 4000×1 PNG,
``RecursionError`` on deep JSON, 12 s / +506 MB for a 10 MB prompt, quadratic 5,000 messages.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

BOMBS = (
    "min_pixels 10**12 (count)",
    "min_pixels 1e8 (encode)",
    "llava-1.5 4000x1 PNG (encode)",
    "JSON nested 100,000 deep (load)",
    "fps 1e6, max_frames 10**6 (count)",
    "1 MB path (count)",
    "10 MB prompt (count)",
    "5,000 messages with an image each (count)",
)


def _setup(folder: Path) -> dict[str, object]:
    from PIL import Image

    Image.new("RGB", (40, 28)).save(folder / "a.png")
    Image.new("RGB", (4000, 1)).save(folder / "strip.png")
    from tests.fuzz import sample

    (folder / "v.mp4").write_bytes(sample("mp4"))
    image = {"type": "image", "path": "a.png"}
    turn = {"role": "user", "content": [{"type": "text", "text": "hi"}, image]}
    video = {"type": "video", "path": "v.mp4"}
    return {
        BOMBS[0]: {"prompt": "<image>", "media": [{**image, "min_pixels": 10**12}]},
        BOMBS[1]: {"prompt": "<image>", "media": [{**image, "min_pixels": 10**8}]},
        BOMBS[2]: {"prompt": "<image>", "media": [{"type": "image", "path": "strip.png"}]},
        BOMBS[3]: '{"prompt": "x", "media": ' + "[" * 100_000 + "]" * 100_000 + "}",
        BOMBS[4]: {"prompt": "<video><video>",
                   "media": [{**video, "fps": 1e6}, {**video, "max_frames": 10**6}]},
        BOMBS[5]: {"prompt": "<image>", "media": [{"type": "image", "path": "x" * 2**20}]},
        BOMBS[6]: {"prompt": "word " * 2_000_000},
        BOMBS[7]: {"messages": [turn] * 5_000},
    }  # fmt: skip


def one(name: str) -> None:
    """Run bomb ``name`` in this process and print one JSON line."""
    warnings.simplefilter("ignore")
    from mmtok.fusion import count_request, encode, load_request

    folder = Path(tempfile.mkdtemp())
    body = _setup(folder)[name]
    path = folder / "request.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    count_request({"prompt": "warm"}, "qwen2-vl")
    encode({"prompt": "warm"}, "llava-1.5")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        request = load_request(path)
        if "(encode)" in name:
            encode(request, "llava-1.5" if "llava" in name else "qwen2-vl")
        elif "(count)" in name:
            count_request(request, "qwen2-vl")
        outcome = "ok"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {str(exc).replace(str(folder), '')[:90]}"
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps({"name": name, "outcome": outcome, "s": seconds, "mb": grown}))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one(sys.argv[2])
        return
    print(f"{'bomb':42} {'time':>9} {'+peak':>8}  outcome")
    for name in BOMBS:
        out = subprocess.run(
            [sys.executable, "-m", "bench.request_bombs", "--one", name],
            capture_output=True,
            text=True,
        )
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        if not line.startswith("{"):
            print(f"{name:42} FAILED: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(line)
        print(f"{name:42} {r['s'] * 1e3:7.0f}ms {r['mb']:6.0f}MB  {r['outcome']}")


if __name__ == "__main__":
    main()
