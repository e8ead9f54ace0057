"""Claim: ``mmtok tokenize --json`` plans from headers, so a request with a dozen 12-megapixel
photos costs about what ``mmtok count`` of the same files costs (before the plan/load split it
decoded every photo: 2× the time of count).

Usage: .venv/bin/python -m bench.tokenize_vs_count [--runs 7] [--n 12]

Both commands run as subprocesses (what a user types), alternating, medians of ``--runs``; the
floor is the bare interpreter start with the imports a CLI needs. In-process, the same request
is timed through ``plan_sequence`` (headers) and ``encode`` (plan + decode + preprocess).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench.corpus import jpeg_corpus

FOLDER = Path("/tmp/mmtok-bench-12mp")


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _median(fn, runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n", type=int, default=12)
    args = parser.parse_args()
    photos = jpeg_corpus(FOLDER, args.n, lo=4000, hi=4000, seed=12)  # 4000×4000: 16 MP
    request = FOLDER / "request.json"
    content = [{"type": "text", "text": "Describe these photos."}]
    content += [{"type": "image", "path": str(p)} for p in photos]
    request.write_text(json.dumps({"messages": [{"role": "user", "content": content}]}))
    mmtok = str(Path(sys.executable).with_name("mmtok"))
    count_cmd = [mmtok, "count", "--json", *map(str, photos)]
    tokenize_cmd = [mmtok, "tokenize", "--json", "--profile", "pixtral", str(request)]
    count_pix = [mmtok, "count", "--json", "--profile", "pixtral", *map(str, photos)]
    text_only = FOLDER / "text.json"
    text_only.write_text(json.dumps({"messages": [{"role": "user", "content": content[:1]}]}))
    tokenize_text = [mmtok, "tokenize", "--json", "--profile", "pixtral", str(text_only)]
    _time(count_cmd), _time(tokenize_cmd)  # warm the page cache
    counts, tokenizes, texts = [], [], []
    for _ in range(args.runs):
        counts.append(_time(count_pix))
        tokenizes.append(_time(tokenize_cmd))
        texts.append(_time(tokenize_text))
    c, t, t0 = (statistics.median(x) for x in (counts, tokenizes, texts))
    print(f"{args.n} photos of 4000×4000 px, pixtral, medians of {args.runs} alternating runs")
    print(f"mmtok count --json                {c * 1e3:8.1f} ms")
    print(f"mmtok tokenize --json             {t * 1e3:8.1f} ms   tokenize/count {t / c:.2f}×")
    print(f"mmtok tokenize --json, text only  {t0 * 1e3:8.1f} ms   (start-up + Tekken load)")
    print(f"the photos' share of tokenize     {(t - t0) * 1e3:8.1f} ms")

    from mmtok.fusion import encode, plan_sequence, resolve_tokenizer
    from mmtok.profiles import get_profile

    profile = get_profile("pixtral")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = resolve_tokenizer(profile)
    req = json.loads(request.read_text())
    plan_s = _median(lambda: _clock(lambda: plan_sequence(req, profile, tok)), args.runs)
    encode_s = _median(lambda: _clock(lambda: encode(req, profile, tok)), max(2, args.runs // 3))
    print(f"in process: plan_sequence {plan_s * 1e3:.1f} ms · encode {encode_s * 1e3:.1f} ms "
          f"({encode_s / plan_s:.0f}× the plan)")  # fmt: skip


def _clock(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
