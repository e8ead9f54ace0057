"""Nearest-code search on the CPU: mmtok vs vector-quantize-pytorch vs the matmul floor.

65,536 vectors of dim 256 against K = 8,192 codes (the issue's sizes). Three timings, median of
``--repeats`` rounds, each round running every method once (so a busy neighbour slows all):

- ``mmtok``: :func:`mmtok.discrete.quantize.nearest_code` (GEMM with ‖c‖² as bias, argmin,
  in row blocks);
- ``library``: ``VectorQuantize(dim=256, codebook_size=8192).eval()`` forward with the same
  codebook (distances, argmin and the code lookup it returns);
- ``floor``: the same blocked GEMM alone (``x_block @ cᵀ``), which any exact search must do.

Each run also checks that mmtok and the library pick the same ids. With ``--memory``, each
method also runs once in a fresh process to report its peak resident memory growth.

    .venv/bin/python -m bench.nearest_code [--repeats 5] [--memory]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from vector_quantize_pytorch import VectorQuantize

from mmtok.discrete.quantize import SCORE_BLOCK, nearest_code

N, D, K = 65_536, 256, 8_192


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, D, generator=g), torch.randn(K, D, generator=g)


def floor(x: torch.Tensor, codebook: torch.Tensor) -> None:
    """The GEMM of nearest_code, block by block into one buffer, with nothing else."""
    rows = SCORE_BLOCK // K
    out = x.new_empty(rows, K)
    for start in range(0, N, rows):
        torch.mm(x[start : start + rows], codebook.T, out=out)


def library(codebook: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    vq = VectorQuantize(dim=D, codebook_size=K).eval()
    with torch.no_grad():
        vq.codebook = codebook

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return vq(x[None])[1][0]

    return run


def median_seconds(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each method over ``repeats`` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def methods(x: torch.Tensor, codebook: torch.Tensor) -> dict[str, Callable[[], object]]:
    lib = library(codebook)
    return {
        "mmtok": lambda: nearest_code(x, codebook),
        "library": lambda: lib(x),
        "floor": lambda: floor(x, codebook),
    }


def child(method: str) -> None:
    """Run one method once and print its peak resident memory growth, MiB."""
    run = methods(*data())[method]
    before = peak_mib()
    run()
    print(peak_mib() - before)


def peak_mib() -> float:
    """This process's peak resident memory (Linux VmHWM), MiB. Not ru_maxrss: a child
    inherits its parent's peak there."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    x, codebook = data()
    agreement = float((nearest_code(x, codebook) == library(codebook)(x)).float().mean())
    seconds = median_seconds(methods(x, codebook), args.repeats)
    print(f"nearest code: N={N:,} vectors, D={D}, K={K:,} codes, {torch.get_num_threads()} threads")
    print(f"median of {args.repeats}; ids agree with the library on {agreement:.4%} of vectors")
    print("| method | median s | vs mmtok |" + (" peak MiB |" if args.memory else ""))
    print("| --- | ---: | ---: |" + (" ---: |" if args.memory else ""))
    for method, s in seconds.items():
        row = f"| {method} | {s:.2f} | {s / seconds['mmtok']:.2f}× |"
        if args.memory:
            out = subprocess.run(
                [sys.executable, __file__, "--child", method], capture_output=True, text=True
            )
            row += f" {float(out.stdout):,.0f} |"
        print(row)
    print(f"library / mmtok = {seconds['library'] / seconds['mmtok']:.2f}×")
    print(f"mmtok / matmul floor = {seconds['mmtok'] / seconds['floor']:.2f}×")


if __name__ == "__main__":
    main()
