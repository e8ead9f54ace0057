"""Claim: mmtok's ToMe merge and top-k prune, with full bookkeeping (sizes, provenance,
positions), run faster than a straightforward per-sample implementation of the same thing.

Workload: batch 8 × 1024 tokens × 1024 dims (float32, CPU). ToMe removes r = 256 tokens in
one step; pruning keeps 256. The reference loops over the batch and over merges the way a
first implementation would, using torch for the maths. Both are checked equal before timing.
Most of a ToMe step is the (N/2 × N/2 × D) similarity matmul, which both share, so its
speed-up is bounded: the gain is in the bookkeeping.

    .venv/bin/python bench/compress_throughput.py [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor

from mmtok.compress import TokenSet, prune, tome_merge

B, N, D, R, KEEP = 8, 1024, 1024, 256, 256


def tome_reference(ts: TokenSet, r: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per sample: match, then merge one source token at a time into its destination."""
    feats, sizes, poses, origins = [], [], [], []
    for b in range(ts.features.shape[0]):
        x, size, pos = ts.features[b], ts.size[b], ts.positions[b]
        m = x / x.norm(dim=-1, keepdim=True)
        best, partner = (m[::2] @ m[1::2].T).max(dim=-1)
        sources = best.argsort(descending=True)[:r].tolist()
        total = x * size[:, None]
        moments = pos * size[:, None]
        weight = size.clone()
        gone = set()
        for a in sources:
            src, dst = 2 * a, 2 * int(partner[a]) + 1
            total[dst] += total[src]
            moments[dst] += moments[src]
            weight[dst] += weight[src]
            gone.add(src)
        kept = [i for i in range(x.shape[0]) if i not in gone]
        slot = {old: new for new, old in enumerate(kept)}
        for a in sources:
            slot[2 * a] = slot[2 * int(partner[a]) + 1]
        feats.append(total[kept] / weight[kept, None])
        sizes.append(weight[kept])
        poses.append(moments[kept] / weight[kept, None])
        origins.append(torch.tensor([slot[int(o)] for o in ts.origin[b]]))
    return torch.stack(feats), torch.stack(sizes), torch.stack(poses), torch.stack(origins)


def prune_reference(ts: TokenSet, scores: Tensor, keep: int) -> tuple[Tensor, ...]:
    """Per sample: sort all scores, take the best ``keep`` in index order, remap provenance."""
    feats, sizes, poses, origins = [], [], [], []
    for b in range(ts.features.shape[0]):
        kept = sorted(scores[b].argsort(descending=True)[:keep].tolist())
        slot = {old: new for new, old in enumerate(kept)}
        feats.append(ts.features[b, kept])
        sizes.append(ts.size[b, kept])
        poses.append(ts.positions[b, kept])
        origins.append(torch.tensor([slot.get(int(o), -1) for o in ts.origin[b]]))
    return torch.stack(feats), torch.stack(sizes), torch.stack(poses), torch.stack(origins)


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def compare(
    ours: Callable[[], object], reference: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median seconds of each and median per-pair ratio; the two alternate, so a busy
    machine slows both alike and the ratio stays meaningful."""
    ours(), reference()  # warm-up: allocator, kernels
    pairs = [(seconds(ours), seconds(reference)) for _ in range(repeats)]
    fast = statistics.median(p[0] for p in pairs)
    slow = statistics.median(p[1] for p in pairs)
    return fast, slow, statistics.median(ref / mine for mine, ref in pairs)


def check(ours: TokenSet, reference: tuple[Tensor, ...], name: str) -> None:
    features, size, positions, origin = reference
    torch.testing.assert_close(ours.features, features, msg=f"{name}: features differ")
    torch.testing.assert_close(ours.size, size, msg=f"{name}: sizes differ")
    torch.testing.assert_close(ours.positions, positions, msg=f"{name}: positions differ")
    assert torch.equal(ours.origin, origin), f"{name}: provenance differs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ts = TokenSet.from_grid(torch.randn(B, N, D), (1, 32, 32))
    scores = torch.rand(B, N)
    with torch.inference_mode():
        check(tome_merge(ts, R), tome_reference(ts, R), "tome")
        check(prune(ts, scores, KEEP), prune_reference(ts, scores, KEEP), "prune")
        cases = {
            f"ToMe merge (r={R})": (
                lambda: tome_merge(ts, R),
                lambda: tome_reference(ts, R),
            ),
            f"prune top-k (keep={KEEP})": (
                lambda: prune(ts, scores, KEEP),
                lambda: prune_reference(ts, scores, KEEP),
            ),
        }
        load = os.getloadavg()[0]  # other work on the machine skews absolute times
        print(
            f"batch {B} × {N} tokens × {D} dims, float32, {torch.get_num_threads()} threads, "
            f"{os.cpu_count()} CPUs, load average {load:.1f} at start"
        )
        print(f"median of {args.repeats} alternating runs (speed-up: median per-pair ratio)\n")
        print("| operation | mmtok ms | reference ms | mmtok tokens/s | speed-up |")
        print("|---|---:|---:|---:|---:|")
        for name, (ours, reference) in cases.items():
            fast, slow, ratio = compare(ours, reference, args.repeats)
            rate = B * N / fast
            print(f"| {name} | {fast * 1e3:.1f} | {slow * 1e3:.1f} | {rate:,.0f} | {ratio:.1f}× |")


if __name__ == "__main__":
    main()
