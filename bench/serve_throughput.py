"""Claim: ``mmtok serve``'s ``/tokenize`` answers a chat body with one 2-megapixel data-URL
image at ≥ 20× the throughput of running transformers' Qwen2-VL processor on the same bodies
in-process (what a gateway would otherwise run), at equal concurrency; p99 < 50 ms at 8
clients.

Usage: .venv/bin/python -m bench.serve_throughput [--clients 1,8,32] [--n 200] [--peer-n 24]

mmtok: a real ``mmtok serve`` process (one worker, Qwen's tiktoken vocabulary) on a free local
port; ``c`` client threads, one keep-alive connection each, POST the same body ``--n`` times in
all. Peer: ``c`` threads run the processor's steps on the body — JSON, base64, Pillow decode,
``Qwen2VLImageProcessorPil``, placeholder expansion, the same vocabulary as a fast tokenizer
(``Qwen2VLProcessor`` itself needs torchvision's video processor to be built; its image and text
steps are these). Counts are checked equal before timing. Latencies are per request, client
side; memory is the server's peak RSS (VmHWM) and the peer process's peak RSS.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dashscope
import numpy as np
from PIL import Image

from bench.corpus import photo_like

QWEN_TIKTOKEN = os.path.join(os.path.dirname(dashscope.__file__), "resources", "qwen.tiktoken")
PROMPT = "What is in this image?"


def _body(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    photo_like(width, height, seed=3).save(buf, "JPEG", quality=90)
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    content = [{"type": "text", "text": PROMPT}, {"type": "image_url", "image_url": {"url": url}}]
    body = {
        "model": "Qwen/Qwen2-VL-7B-Instruct",
        "messages": [{"role": "user", "content": content}],
    }
    return json.dumps({**body, "max_tokens": 128}).encode()


def _peer():
    """The processor's steps for one chat body → its input ids."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    # Qwen's special tokens in id order (151643 …), added after the 151,643 ordinary ones.
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
    pattern = (
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
        r"|\s*[\r\n]+|\s+(?!\S)|\s+"
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=TikTokenConverter(QWEN_TIKTOKEN, pattern).converted()
    )
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    processor = Qwen2VLImageProcessorPil()

    def run(raw: bytes) -> list[int]:
        body = json.loads(raw)
        text, image = "", None
        for part in body["messages"][0]["content"]:
            if part["type"] == "text":
                text += part["text"]
            else:
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                image = Image.open(io.BytesIO(data)).convert("RGB")
                text += "<|vision_start|><|image_pad|><|vision_end|>"
        grid = processor(images=[image], return_tensors="np")["image_grid_thw"][0]
        pads = "<|image_pad|>" * int(np.prod(grid) // processor.merge_size**2)
        prompt = (
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            f"{text.replace('<|image_pad|>', pads)}<|im_end|>\n<|im_start|>assistant\n"
        )
        return tokenizer(prompt)["input_ids"]

    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(call, clients: int, n: int) -> tuple[float, list[float]]:
    """``n`` calls spread over ``clients`` threads → (requests/s, latencies in seconds)."""
    per = [n // clients + (i < n % clients) for i in range(clients)]

    def worker(count: int) -> list[float]:
        state: dict = {}
        out = []
        for _ in range(count):
            start = time.perf_counter()
            call(state)
            out.append(time.perf_counter() - start)
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(worker, per) for t in part]
    return n / (time.perf_counter() - start), latencies


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--n", type=int, default=200, help="mmtok requests per concurrency level")
    ap.add_argument("--peer-n", type=int, default=24, help="processor runs per level")
    ap.add_argument("--size", default="1632x1224", help="image WxH (2.0 MP)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    width, height = map(int, args.size.split("x"))
    raw = _body(width, height)
    port = _free_port()
    cmd = [sys.executable, "-c", "from mmtok.cli.app import main; main()", "serve", "--port",
           str(port), "--tokenizer", QWEN_TIKTOKEN, "--log-level", "warning",
           "--workers", str(args.workers)]  # fmt: skip
    server = subprocess.Popen(cmd)
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
                break
            except OSError:
                time.sleep(0.05)

        def ours(state: dict) -> dict:
            conn = state.setdefault("conn", http.client.HTTPConnection("127.0.0.1", port))
            conn.request("POST", "/tokenize", raw, {"content-type": "application/json"})
            answer = conn.getresponse()
            data = answer.read()
            assert answer.status == 200, data[:300]
            return json.loads(data)

        peer = _peer()
        expected = peer(raw)
        got = ours({})
        assert got["tokens"] == expected, (got["count"], len(expected))
        print(f"{width}×{height} JPEG ({len(raw) / 1e6:.2f} MB body): {got['count']} tokens, "
              "equal ids from both")  # fmt: skip
        rows = []
        for clients in map(int, args.clients.split(",")):
            rate, lat = _load(ours, clients, args.n)
            peer_rate, peer_lat = _load(lambda _s: peer(raw), clients, args.peer_n)
            rows.append((clients, rate, lat, peer_rate, peer_lat))
            print(f"c={clients:>2}: mmtok {rate:7.1f} req/s p50 {_pct(lat, 50):6.1f} ms "
                  f"p99 {_pct(lat, 99):6.1f} ms | processor {peer_rate:5.2f} req/s "
                  f"p50 {_pct(peer_lat, 50):7.1f} ms p99 {_pct(peer_lat, 99):7.1f} ms | "
                  f"ratio {rate / peer_rate:5.1f}×", flush=True)  # fmt: skip
        status = Path(f"/proc/{server.pid}/status").read_text()
        hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        peer_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"peak RSS: mmtok server {int(hwm) / 1024:.0f} MB; processor process {peer_mb:.0f} MB"
        )
        print(f"median ratio {statistics.median(r[1] / r[3] for r in rows):.1f}×")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
