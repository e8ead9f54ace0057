"""Long-run media fuzzer: thousands of seeded mutants per run, each worker a separate process.

The cases are tests/fuzz.py's (bit flips, truncations, header overwrites, extreme size
fields, spliced stretches over a valid file of every format); each runs probe, count and
decode under a time bound and must succeed or raise a typed ``MmtokError`` naming the file,
with audio decoding to exactly the tokens it counted. Workers run under an address-space cap
(``--memory-gib``); a worker that dies (a crash in a native decoder, or memory) costs the case
it was on, recorded as ``crash``, and a fresh worker carries on after it.

Prints outcomes by format and class, the distinct problems, the slowest cases and the
reproduction name of each finding (``fmt/mutation/seed``: ``tests.fuzz.mutate``).

Requests are the ``request`` "format": tests/fuzz_requests.py's mutated request JSON (types,
huge options, odd strings and paths, deep nesting, keys, thousands of parts), each loaded,
counted, planned and encoded.

Run: ``.venv/bin/python -m bench.fuzz [--per-format 500] [--seed 1] [--formats png,request]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests import fuzz_requests
from tests.fuzz import AUDIO_FORMATS, IMAGE_FORMATS, VIDEO_FORMATS, cases, run_case

REQUEST = "request"  # the request-JSON fuzzer (tests/fuzz_requests.py), run like a format


def worker(fmt: str, per_format: int, seed: int, skip: int, memory_gib: float) -> None:
    """Run the cases of ``fmt`` after the first ``skip``, one JSON line per case on stdout."""
    cap = int(memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if fmt == REQUEST:
            fuzz_requests.write_media(folder)
            per_kind = -(-per_format // len(fuzz_requests.MUTATIONS))
            todo = fuzz_requests.cases(per_kind, seed, folder)
            check = fuzz_requests.run_case
        else:
            todo, check = cases((fmt,), per_format, seed), run_case
        for k, (name, data) in enumerate(todo):
            if k < skip:
                continue
            print(json.dumps({"name": name, "start": True}), flush=True)
            o = check(name, data, folder, limit_s=10.0)  # type: ignore[operator]
            print(json.dumps(o.__dict__), flush=True)


def run_format(fmt: str, per_format: int, seed: int, memory_gib: float) -> list[dict]:
    """Every case of ``fmt``, restarting the worker after a case that killed it."""
    done: list[dict] = []
    if fmt == REQUEST:
        per_format = -(-per_format // len(fuzz_requests.MUTATIONS)) * len(fuzz_requests.MUTATIONS)
    while len(done) < per_format:
        args = [sys.executable, "-m", "bench.fuzz", "--worker", fmt, "--per-format",
                str(per_format), "--seed", str(seed), "--skip", str(len(done)),
                "--memory-gib", str(memory_gib)]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True)
        current = None
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if record.get("start"):
                current = record["name"]
            else:
                done.append(record)
                current = None
        if proc.returncode != 0:
            name = current or f"{fmt}/?/{len(done)}"
            done.append({"name": name, "result": "crash", "seconds": 0.0,
                         "error": f"worker exited {proc.returncode}"})  # fmt: skip
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-format", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--formats",
        default=",".join((*IMAGE_FORMATS, *VIDEO_FORMATS, *AUDIO_FORMATS, REQUEST)),
    )
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--worker")
    parser.add_argument("--skip", type=int, default=0)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.per_format, args.seed, args.skip, args.memory_gib)
        return
    start = time.perf_counter()
    records = [
        r for fmt in args.formats.split(",") for r in run_format(fmt, args.per_format, args.seed,
                                                                 args.memory_gib)
    ]  # fmt: skip
    by_class = Counter((r["name"].split("/")[0], r["result"]) for r in records)
    memory = Counter(r["name"].split("/")[0] for r in records if "MemoryError" in r["error"])
    print(f"{len(records):,} cases in {time.perf_counter() - start:,.0f} s "
          f"(seed {args.seed}, {args.per_format} per format)")  # fmt: skip
    for fmt in args.formats.split(","):
        row = {c: by_class[(fmt, c)] for c in ("ok", "typed", "bad", "crash")}
        print(f"  {fmt:7} " + "  ".join(f"{c} {n:4}" for c, n in row.items())
              + (f"  (memory errors {memory[fmt]})" if memory[fmt] else ""))  # fmt: skip
    totals = Counter(r["result"] for r in records)
    print("total  " + "  ".join(f"{c} {totals[c]}" for c in ("ok", "typed", "bad", "crash")))
    slowest = sorted(records, key=lambda r: -r["seconds"])[:5]
    print("slowest: " + ", ".join(f"{r['name']} {r['seconds']:.2f} s" for r in slowest))
    findings = [r for r in records if r["result"] in ("bad", "crash")]
    for r in findings:
        print(f"FINDING {r['name']}: {r['error']}")


if __name__ == "__main__":
    main()
