"""``mmtok serve``'s app through FastAPI's TestClient: counts equal to ``mmtok tokenize`` /
``mmtok plan``, OpenAI parts and data URLs, the fitted body, every error class, the limits,
metrics, and nothing heavy imported to count."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import dashscope
import numpy as np
import pytest
from fastapi.testclient import TestClient
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
from typer.testing import CliRunner

import mmtok.cli.plan
import mmtok.cli.tokenize  # noqa: F401  (the two register their commands)
from mmtok.cli.app import app as cli
from mmtok.serve.app import create_app
from mmtok.serve.config import ServeConfig
from tests.images import encode, png_claiming, random_image
from tests.media_factory import write_sound, write_video

QWEN_TIKTOKEN = os.path.join(os.path.dirname(dashscope.__file__), "resources", "qwen.tiktoken")
JPEG = encode(random_image(160, 120), "JPEG")
runner = CliRunner()


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def chat(*parts: dict, text: str = "Describe this.") -> dict:
    content = [{"type": "text", "text": text}, *parts]
    return {
        "model": "Qwen/Qwen2-VL-7B-Instruct",
        "messages": [{"role": "user", "content": content}],
    }


def image_url(url: str, **options: object) -> dict:
    return {"type": "image_url", "image_url": {"url": url}, **options}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "a.jpg").write_bytes(JPEG)
    (root / "big.png").write_bytes(png_claiming(3000, 2000))
    frame = lambda i: np.full((48, 64, 3), 8 * i % 256, dtype=np.uint8)  # noqa: E731
    write_video(root / "clip.mp4", frame, 24, fps=12)
    t = np.arange(16_000 * 2) / 16_000
    write_sound(root / "tone.wav", (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000)
    return root


@pytest.fixture(scope="module")
def client(root) -> TestClient:
    config = ServeConfig(
        tokenizer=QWEN_TIKTOKEN, media_root=str(root), max_model_len=32_768, max_media_items=4,
        max_pixels=4_000_000, max_body_bytes=2**20,
    )  # fmt: skip
    return TestClient(create_app(config))


def test_tokenize_equals_mmtok_tokenize(client, root, tmp_path):
    body = chat(image_url(data_url(JPEG, "image/jpeg")), {"type": "video", "path": "clip.mp4"})
    answer = client.post("/tokenize", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    file_body = chat(
        {"type": "image", "path": str(root / "a.jpg")},
        {"type": "video", "path": str(root / "clip.mp4")},
    )
    request = tmp_path / "request.json"
    request.write_text(json.dumps({k: v for k, v in file_body.items() if k != "model"}))
    result = runner.invoke(cli, ["tokenize", str(request), "--tokenizer", QWEN_TIKTOKEN, "--json"])
    assert result.exit_code == 0, result.output
    cli_data = json.loads(result.stdout)
    assert data["tokens"] == cli_data["input_ids"]
    assert data["count"] == len(cli_data["input_ids"])
    assert data["position_ids"] == cli_data["position_ids"]
    assert data["modality_ids"] == cli_data["modality_ids"]
    assert data["rope_delta"] == cli_data["rope_delta"]
    assert data["max_model_len"] == 32_768 and data["token_strs"] is None
    assert data["warnings"] == []
    # vLLM's keys first, then mmtok's
    assert list(data)[:4] == ["count", "max_model_len", "tokens", "token_strs"]
    image, video = data["items"]
    h, w = smart_resize(120, 160, 28, 56 * 56, 28 * 28 * 1280)
    assert image["part"] == "messages[0].content[1]" and image["kind"] == "image"
    assert image["feature_tokens"] == (h // 28) * (w // 28)
    assert image["tokens"] == image["feature_tokens"] + 2  # <|vision_start|> … <|vision_end|>
    assert image["grid"] == [1, h // 14, w // 14]
    assert image["end"] - image["start"] == image["tokens"]
    assert data["tokens"][image["start"]] == cli_data["special_tokens"]["<|vision_start|>"]
    assert video["kind"] == "video" and video["grid"] == cli_data["video_grid_thw"][0]


def test_openai_audio_and_video_parts_count_like_files(root):
    client = TestClient(create_app(ServeConfig(profile="generic", media_root=str(root))))
    wav, mp4 = (root / "tone.wav").read_bytes(), (root / "clip.mp4").read_bytes()
    inline = chat(
        {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"},
        },
        {"type": "video_url", "video_url": {"url": data_url(mp4, "video/mp4")}},
    )
    files = chat(
        {"type": "audio_url", "audio_url": {"url": "file://" + str(root / "tone.wav")}},
        {"type": "video", "video": "clip.mp4"},
    )
    a, b = (client.post("/tokenize", json=body).json() for body in (inline, files))
    assert a["tokens"] == b["tokens"] and a["count"] == b["count"]
    assert [i["kind"] for i in a["items"]] == ["audio", "video"]
    assert a["items"][0]["feature_tokens"] > 0


def test_plan_equals_mmtok_plan_and_forwards_the_fitted_body(client, root, tmp_path):
    body = {
        **chat(image_url("a.jpg"), image_url(data_url(JPEG, "image/jpeg"))),
        "max_tokens": 16,
        "temperature": 0.7,
    }
    data = client.post("/v1/plan", json={**body, "context": 4000}).json()
    request = tmp_path / "request.json"
    file_body = chat(
        {"type": "image", "path": str(root / "a.jpg")},
        {"type": "image", "path": str(root / "a.jpg")},
    )
    request.write_text(json.dumps({k: v for k, v in file_body.items() if k != "model"}))
    argv = [
        "plan",
        str(request),
        "--context",
        "4000",
        "--reserve-output",
        "16",
        "--tokenizer",
        QWEN_TIKTOKEN,
        "--json",
    ]
    cli_data = json.loads(runner.invoke(cli, argv).stdout)
    for key in ("context", "reserve_output", "input_tokens", "headroom", "fits", "checks", "cost"):
        assert data[key] == cli_data[key], key
    assert [i["tokens"] for i in data["items"]] == [i["tokens"] for i in cli_data["items"]]
    assert data["reserve_output"] == 16  # from the body's max_tokens
    assert "request" not in data

    # A context between the text alone and the whole request: the images must shrink or go.
    text = client.post("/tokenize", json=chat()).json()["count"]
    full = client.post("/tokenize", json=body).json()["count"]
    context = 16 + text + (full - text) // 2
    fitted = client.post("/v1/plan", json={**body, "context": context, "fit": True}).json()
    assert fitted["fits"] and fitted["fitted_input_tokens"] <= context - 16 < full
    forward = fitted["request"]
    assert forward["temperature"] == 0.7 and "context" not in forward and "fit" not in forward
    kept = forward["messages"][0]["content"][1:]
    # each image shrank, or some went (the planner drops rather than shrink below its floor)
    assert len(kept) < 2 or all("max_pixels" in p for p in kept)
    again = client.post("/tokenize", json=forward).json()
    assert again["count"] == fitted["input_tokens"] == fitted["fitted_input_tokens"]

    only_drop = {**body, "context": context, "fit": True, "policy": ["drop"]}
    dropped = client.post("/v1/plan", json=only_drop).json()
    content = dropped["request"]["messages"][0]["content"]
    assert len(content) == 2 and "max_pixels" not in content[1]  # a fit vLLM can replay
    assert (
        client.post("/tokenize", json=dropped["request"]).json()["count"] == dropped["input_tokens"]
    )


def test_plan_needs_a_context_without_max_model_len(root):
    client = TestClient(create_app(ServeConfig(tokenizer=QWEN_TIKTOKEN)))
    answer = client.post("/v1/plan", json=chat())
    assert answer.status_code == 400
    assert "context: not given" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "kind", "needle"),
    [
        (b"{nope", 400, "RequestError", "body is not valid JSON"),
        (b"[1, 2]", 400, "RequestError", "body must be a JSON object, not list"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "RequestError", "not valid JSON"),
        (
            chat({"type": "pdf"}),
            400,
            "RequestError",
            "messages[0].content[1]: unknown part type 'pdf'",
        ),
        (chat(image_url("https://x.org/a.png")), 400, "RequestError", "is a remote URL"),
        (
            chat(image_url("../a.jpg")),
            400,
            "RequestError",
            "content[1].url: '../a.jpg' is outside the media root",
        ),
        (chat(image_url("missing.png")), 422, "MediaError", "messages[0].content[1] ("),
        (
            chat(image_url(data_url(b"\x89PNG\r\n\x1a\nbroken", "image/png"))),
            422,
            "TruncatedMediaError",
            "messages[0].content[1] (<bytes>)",
        ),
        (
            chat(image_url(data_url(b"%PDF-1.4", "application/pdf"))),
            422,
            "UnsupportedMediaError",
            "PDF",
        ),
        (chat(image_url("big.png")), 413, "MediaTooLargeError", "messages[0].content[1]"),
        (  # several data: URLs: the error names the broken one
            chat(
                image_url(data_url(JPEG, "image/jpeg")),
                image_url(data_url(JPEG[:200], "image/jpeg")),
            ),
            422,
            "TruncatedMediaError",
            "messages[0].content[2] (<bytes>): ",
        ),
        (
            {**chat(image_url("a.jpg"), image_url("big.png")), "context": 9000},
            413,
            "MediaTooLargeError",
            "messages[0].content[2] (",
        ),
        (
            chat(*[image_url("a.jpg")] * 5),
            413,
            "LimitExceededError",
            "5 media items, over the limit of 4",
        ),
        ({**chat(), "tools": [{"type": "function"}]}, 400, "RequestError", "tools: "),
        ({**chat(), "return_token_strs": "yes"}, 400, "RequestError", "return_token_strs"),
        ({**chat(), "frobnicate": 1}, 400, "RequestError", "frobnicate: Extra inputs"),
        ({**chat(), "context": 0}, 400, "RequestError", "context: "),
        ({**chat(), "context": 100, "reserve_output": 100}, 400, "ConfigError", "reserve"),
        ({**chat(), "context": 100, "max_tokens": -1}, 400, "RequestError", "max_tokens"),
        ({**chat(), "context": 100, "fit": "yes"}, 400, "RequestError", "fit: "),
        (
            {**chat(), "context": 100, "fit": True, "policy": ["shrink"]},
            400,
            "ConfigError",
            "unknown fit step",
        ),
        (
            {**chat(), "context": 100, "llm": "/etc/passwd"},
            400,
            "RequestError",
            "llm: unknown preset",
        ),
        ({**chat(text="word " * 400), "context": 100, "fit": True}, 422, "BudgetError", ""),
    ],
)
def test_errors_are_typed_4xx_naming_the_part(client, body, status, kind, needle):
    endpoint = "/v1/plan" if isinstance(body, dict) and "context" in body else "/tokenize"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = client.post(endpoint, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["type"].endswith(kind) and needle in error["message"]
    assert error["code"] == status


def test_body_limit_with_and_without_content_length(client):
    big = json.dumps(chat(text="x" * 2**20)).encode()
    answer = client.post("/tokenize", content=big)
    assert answer.status_code == 413
    assert answer.json()["error"] == {
        "type": "LimitExceededError",
        "message": f"body of {len(big):,} bytes is over the 1,048,576-byte limit",
        "code": 413,
    }
    chunked = client.post("/tokenize", content=iter([big[:700_000], big[700_000:]]))
    assert chunked.status_code == 413
    assert chunked.json()["error"]["message"] == "body is over the 1,048,576-byte limit"


def test_unknown_routes_and_methods_share_the_error_shape(client):
    assert client.get("/nope").json() == {
        "error": {"type": "HTTPError", "message": "Not Found", "code": 404}
    }
    assert client.get("/tokenize").status_code == 405


def test_an_internal_error_is_a_500_and_the_service_lives_on(root, monkeypatch):
    from mmtok.serve import service

    client = TestClient(create_app(ServeConfig(tokenizer=QWEN_TIKTOKEN)))
    monkeypatch.setattr(service, "plan_sequence", lambda *a, **k: 1 / 0)
    answer = client.post("/tokenize", json=chat())
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "InternalError"
    monkeypatch.undo()
    assert client.post("/tokenize", json=chat()).status_code == 200
    assert (
        'mmtok_errors_total{endpoint="/tokenize",type="InternalError"} 1'
        in client.get("/metrics").text
    )


def test_health_metrics_and_openapi(root):
    client = TestClient(create_app(ServeConfig(tokenizer=QWEN_TIKTOKEN, max_model_len=8192)))
    assert client.get("/health").json() == {
        "status": "ok",
        "profile": "qwen2-vl",
        "tokenizer": "tiktoken:qwen.tiktoken",
        "max_model_len": 8192,
        "warnings": [],
    }
    count = client.post("/tokenize", json=chat()).json()["count"]
    client.post("/tokenize", json=chat({"type": "pdf"}))
    text = client.get("/metrics").text
    assert 'mmtok_requests_total{endpoint="/tokenize",status="200"} 1' in text
    assert 'mmtok_requests_total{endpoint="/tokenize",status="400"} 1' in text
    assert 'mmtok_errors_total{endpoint="/tokenize",type="RequestError"} 1' in text
    assert f'mmtok_tokens_counted_total{{endpoint="/tokenize"}} {count}' in text
    assert 'mmtok_request_duration_seconds_bucket{endpoint="/tokenize",le="+Inf"} 2' in text
    assert 'mmtok_request_duration_seconds_count{endpoint="/tokenize"} 2' in text
    schema = client.get("/openapi.json").json()
    assert {"/tokenize", "/v1/plan", "/health", "/metrics"} <= set(schema["paths"])
    body = schema["paths"]["/v1/plan"]["post"]["requestBody"]["content"]["application/json"]
    assert {"messages", "context", "fit"} <= set(body["schema"]["properties"])


def test_counting_imports_no_heavy_module(root):
    code = f"""
import sys
from fastapi.testclient import TestClient
from mmtok.serve.app import create_app
from mmtok.serve.config import ServeConfig
client = TestClient(create_app(ServeConfig(media_root={str(root)!r}, max_model_len=4096)))
body = {{"messages": [{{"role": "user", "content": [{{"type": "image", "path": "a.jpg"}}]}}]}}
assert client.post("/tokenize", json=body).status_code == 200
assert client.post("/v1/plan", json={{**body, "fit": True}}).status_code == 200
print(sorted(m for m in ("torch", "transformers", "matplotlib", "cv2", "ray") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_video_frames_over_max_pixels_are_refused_naming_the_part(root):
    client = TestClient(create_app(ServeConfig(media_root=str(root), max_pixels=64 * 47)))
    for endpoint, extra in (("/tokenize", {}), ("/v1/plan", {"context": 9000})):
        body = {
            **chat({"type": "text", "text": "and"}, {"type": "video", "path": "clip.mp4"}),
            **extra,
        }
        answer = client.post(endpoint, json=body)
        assert answer.status_code == 413, answer.text
        error = answer.json()["error"]
        assert error["type"] == "MediaTooLargeError"
        assert error["message"].startswith("messages[0].content[2] (")


def test_token_strs_are_what_transformers_names_the_ids(tmp_path):
    """``return_token_strs``: vLLM answers ``convert_ids_to_tokens(tokens)``; the reference is a
    tiktoken vocabulary converted by transformers (byte-level, as Qwen2's tokenizer.json)."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from mmtok.text.tokenizers import QWEN2_SPECIAL_TOKENS, QWEN_PATTERN

    merges = [b" w", b"or", b" wor", b"ld", b" world", b"\n\n", b"\xc3\xa9", b"He", b"ll"]
    ranks = [bytes([b]) for b in range(256)] + merges
    path = tmp_path / "small.tiktoken"
    path.write_text("".join(f"{base64.b64encode(t).decode()} {i}\n" for i, t in enumerate(ranks)))
    reference = PreTrainedTokenizerFast(
        tokenizer_object=TikTokenConverter(str(path), QWEN_PATTERN).converted()
    )
    reference.add_special_tokens({"additional_special_tokens": list(QWEN2_SPECIAL_TOKENS)})
    client = TestClient(create_app(ServeConfig(tokenizer=str(path))))
    body = {**chat(text="Hello world\n\n  café 中文 \x7f\u00a0!"), "return_token_strs": True}
    data = client.post("/tokenize", json=body).json()
    text = reference("Hello world\n\n  café", add_special_tokens=False)["input_ids"]
    ids = data["tokens"]
    assert any(ids[i : i + len(text)] == text for i in range(len(ids)))  # encoded alike
    assert data["token_strs"] == reference.convert_ids_to_tokens(data["tokens"])
    assert "Ġworld" in data["token_strs"] and "<|im_start|>" in data["token_strs"]
    assert client.post("/tokenize", json=chat()).json()["token_strs"] is None


def test_token_strs_refused_without_a_table(root):
    client = TestClient(create_app(ServeConfig(profile="pixtral")))  # Tekken
    answer = client.post("/tokenize", json={**chat(), "return_token_strs": True})
    assert answer.status_code == 400
    assert "no table of token strings" in answer.json()["error"]["message"]
