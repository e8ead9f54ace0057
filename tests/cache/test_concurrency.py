"""Several processes on one cache directory, and writers killed mid-write.

Workers are separate Python processes sharing a directory, reading and writing overlapping
keys under a disk limit small enough that they evict each other's entries all the time.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import torch

from mmtok.cache.store import Cache, CacheConfig, CacheWarning, DiskTier, TierLimits, read_counters

ROOT = Path(__file__).resolve().parents[2]
KEYS = 12
LIMIT = 160_000  # bytes: about half the keys fit
WORKERS = 4
SECONDS = 3.0


def k(i: int) -> str:
    return hashlib.sha256(f"concurrency-{i}".encode()).hexdigest()


def payload(i: int) -> dict[str, torch.Tensor]:
    """Item ``i``'s tensors: sizes differ per item (8–52 KB), values from its own seed."""
    g = torch.Generator().manual_seed(i)
    return {"features": torch.randn(2000 + 1000 * i, generator=g), "index": torch.tensor([i])}


def shared(directory: str | Path) -> Cache:
    """A cache whose memory tier keeps nothing: every lookup reads the shared directory."""
    config = CacheConfig(
        directory=Path(directory),
        memory=TierLimits(max_bytes=1),
        disk=TierLimits(max_bytes=LIMIT),
    )
    return Cache(config)


def worker(directory: str, seed: int, seconds: float, out: str) -> None:
    """Read a random key; check a hit against the expected tensors; write it on a miss."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    cache = shared(directory)
    deadline = time.monotonic() + seconds
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CacheWarning)
        while time.monotonic() < deadline or counts.total() < 50:
            i = rng.randrange(KEYS)
            got = cache.get(k(i))
            if got is None:
                counts["miss"] += 1
                cache.put(k(i), payload(i))
                continue
            want = payload(i)
            ok = got.keys() == want.keys() and all(torch.equal(got[n], want[n]) for n in want)
            counts["hit" if ok else "wrong"] += 1
    cache.close()
    counts["warnings"] = len(caught)
    Path(out).write_text(json.dumps(counts))


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, **kwargs)


def test_four_processes_share_one_directory(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    outs = [tmp_path / f"worker{n}.json" for n in range(WORKERS)]
    code = (
        "import sys; from tests.cache.test_concurrency import worker;"
        "worker(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])"
    )
    procs = [
        python(code, str(directory), str(n), str(SECONDS), str(out)) for n, out in enumerate(outs)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    counts = sum((Counter(json.loads(out.read_text())) for out in outs), Counter())
    assert counts["wrong"] == 0 and counts["warnings"] == 0  # every read complete and right
    assert counts["hit"] > 0 and counts["miss"] > 0
    tier = DiskTier(directory)
    checked, bad = tier.verify()
    assert bad == [] and checked > 0
    assert sum(f.bytes for f in tier.scan()) <= LIMIT
    total = read_counters(directory)
    assert total.disk_hits == counts["hit"] and total.misses == counts["miss"]
    assert total.disk_evictions > 0  # the limit forced eviction under contention
    assert not [p for p in (directory / "entries").iterdir() if p.name.startswith(".tmp-")]


STALLING_WRITER = """
import os, sys, time
from mmtok.cache import store
from tests.cache.test_concurrency import k, payload

def stall(fd, data):
    os.write(fd, data[: len(data) // 2])
    print("half written", flush=True)
    time.sleep(60)

store._write_all = stall
store.Cache.at(sys.argv[1]).put(k(0), payload(0))
"""


def test_writer_killed_mid_write_leaves_nothing_a_reader_accepts(tmp_path: Path) -> None:
    proc = python(STALLING_WRITER, str(tmp_path), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "half written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    leftovers = list((tmp_path / "entries").iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".tmp-")  # the partial file
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning: the partial file is invisible
        assert shared(tmp_path).get(k(0)) is None
    assert DiskTier(tmp_path).verify() == (0, [])
    cache = shared(tmp_path)
    cache.put(k(0), payload(0))
    assert torch.equal(cache.get(k(0))["features"], payload(0)["features"])


LOOPING_WRITER = """
import sys
from tests.cache.test_concurrency import k, payload, shared
cache = shared(sys.argv[1])
print("writing", flush=True)
i = 0
while True:
    cache.put(k(i % 8), payload(i % 8))
    i += 1
"""


def test_writers_killed_at_random_moments_never_leave_a_bad_entry(tmp_path: Path) -> None:
    rng = random.Random(7)
    for _ in range(3):
        proc = python(LOOPING_WRITER, str(tmp_path), stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.1, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    tier = DiskTier(tmp_path)
    checked, bad = tier.verify()
    assert checked > 0 and bad == []
    reader = shared(tmp_path)
    for entry in tier.scan():
        got = reader.get(entry.key)
        assert got is not None
        want = payload(int(got["index"]))
        assert entry.key == k(int(got["index"])) and torch.equal(got["features"], want["features"])
