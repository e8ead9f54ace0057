"""A real ``mmtok serve`` on a free local port: health, concurrent clients getting the same
exact count, a refused body, and a graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tests.images import encode, random_image


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_answers_concurrent_clients_and_shuts_down_gracefully(tmp_path):
    (tmp_path / "a.png").write_bytes(encode(random_image(300, 200), "PNG"))
    port = _free_port()
    argv = ["serve", "--port", str(port), "--media-root", str(tmp_path), "--max-body-mb", "0.5"]
    code = "from mmtok.cli.app import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, *argv], stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                    assert json.loads(answer.read())["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        content = [{"type": "text", "text": "What is this?"}, {"type": "image", "path": "a.png"}]
        body = json.dumps({"messages": [{"role": "user", "content": content}]}).encode()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _post(f"{base}/tokenize", body), range(32)))
        assert {status for status, _ in answers} == {200}
        assert len({json.dumps(data["tokens"]) for _, data in answers}) == 1
        status, error = _post(f"{base}/tokenize", b" " * 600_000)
        assert status == 413 and error["error"]["type"] == "LimitExceededError"
        assert _post(f"{base}/tokenize", body)[0] == 200  # still serving
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)
    assert "Finished server process" in log
