"""Claim: ``mmtok count one.jpg`` starts within 2× the bare imports a CLI like it needs.

Usage: .venv/bin/python -m bench.startup [--runs 11]

Both sides run as fresh processes, interleaved so machine load hits them alike: the
``mmtok`` console script counting one 640×480 JPEG, and
``python -c "import numpy, PIL.Image, av, typer, rich, pydantic"``. Wall time, medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

FLOOR = "import numpy, PIL.Image, av, typer, rich, pydantic"


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    mmtok = str(Path(sys.executable).with_name("mmtok"))
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "one.jpg"
        pixels = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(image)
        count = [mmtok, "count", str(image)]
        floor = [sys.executable, "-c", FLOOR]
        _wall(count), _wall(floor)  # warm the file cache
        ours, peer = [], []
        for _ in range(args.runs):
            ours.append(_wall(count))
            peer.append(_wall(floor))
    t_ours, t_peer = statistics.median(ours), statistics.median(peer)
    print(f"runs: {args.runs} each, interleaved, wall time medians")
    print(f"mmtok count one.jpg : {t_ours * 1e3:7.0f} ms")
    print(f"bare imports        : {t_peer * 1e3:7.0f} ms  ({FLOOR})")
    print(f"ratio               : {t_ours / t_peer:.2f}×  (target ≤ 2×)")


if __name__ == "__main__":
    main()
