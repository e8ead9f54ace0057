"""Claim: a disk-cache write costs the same at 100 entries as at 100,000 (no scan per write).

Usage: .venv/bin/python -m bench.cache_scale [--sizes 100,1000,10000,100000] [--writes 200]

For each size N a fresh directory is filled with N entry files (written directly, times set
as the store sets them), then a :class:`mmtok.cache.Cache` with ``max_entries=N`` (full: every
new entry is over the limit) writes new entries. Reported per N:

- **write**: the median time of one ``Cache.put`` once the index is built (pack, temporary
  file, fsync, rename, index and counters under the lock);
- **pass**: the one write that scans the directory and evicts a batch (``evict_to`` 0.9:
  ``N/10`` entries), and **amortised**: write + pass / (N/10), what a write costs on average;
- **scan (old write)**: one directory scan of N entries, which every write did before the
  size index (the peer: the old per-write floor).

The ratio that carries the claim is amortised write at the largest N over that at the
smallest (flat = 1); the scan column shows what the index saves.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from mmtok.cache import Cache, CacheConfig, TierLimits
from mmtok.cache.entry import pack
from mmtok.cache.store import SUFFIX


def key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def fill(directory: Path, n: int, created: float) -> None:
    """``n`` entry files (one small entry's bytes under each key's name), oldest first."""
    entries = directory / "entries"
    entries.mkdir(parents=True)
    data = pack(key(0), {"features": torch.zeros(1, 16, 8)}, created)
    for i in range(n):
        path = entries / f"{key(i)}{SUFFIX}"
        path.write_bytes(data)
        stamp = int((created + i * 1e-3) * 1e9)
        os.utime(path, ns=(stamp, stamp))


def measure(n: int, writes: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="mmtok-cache-scale-"))
    try:
        fill(folder, n, time.time() - 3600)
        config = CacheConfig(
            directory=folder,
            memory=TierLimits(max_bytes=1),
            disk=TierLimits(max_entries=n),
        )
        cache = Cache(config)
        value = {"features": torch.randn(1, 16, 8)}
        assert cache.disk is not None
        start = time.perf_counter()
        cache.disk.scan()
        scan = time.perf_counter() - start
        start = time.perf_counter()
        cache.put(key(n), value)  # no index yet: the first write scans and evicts a batch
        first = time.perf_counter() - start
        times = []
        for i in range(n + 1, n + 1 + writes):
            start = time.perf_counter()
            cache.put(key(i), value)
            times.append(time.perf_counter() - start)
        cache.close()
        write = statistics.median(times)
        batch = max(1, n - int(n * 0.9))
        return {"write": write, "pass": first, "amortised": write + first / batch, "scan": scan}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {n: measure(n, args.writes) for n in sizes}
    print(f"{'entries':>8} {'write':>9} {'pass':>9} {'amortised':>10} {'scan (old write)':>17}")
    for n, r in rows.items():
        print(
            f"{n:>8,} {r['write'] * 1e3:>7.2f}ms {r['pass'] * 1e3:>7.1f}ms "
            f"{r['amortised'] * 1e3:>8.2f}ms {r['scan'] * 1e3:>15.1f}ms"
        )
    lo, hi = rows[sizes[0]], rows[sizes[-1]]
    print(
        f"amortised write at {sizes[-1]:,} / at {sizes[0]:,}: "
        f"{hi['amortised'] / lo['amortised']:.2f}x; "
        f"old write (scan) at {sizes[-1]:,} / new write: {hi['scan'] / hi['amortised']:.0f}x"
    )


if __name__ == "__main__":
    main()
