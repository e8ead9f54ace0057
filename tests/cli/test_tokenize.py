"""``mmtok tokenize``: the readable layout, ``--json`` keys, ``--out`` tensors, errors."""

from __future__ import annotations

import json

import pytest
from safetensors.numpy import load_file
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
from typer.testing import CliRunner

import mmtok.cli.tokenize  # noqa: F401  (registers the command)
from mmtok.cli.app import app
from tests.images import encode, random_image
from tests.parity.fusion_references import QWEN_TIKTOKEN

runner = CliRunner()


@pytest.fixture
def request_file(tmp_path):
    (tmp_path / "a.png").write_bytes(encode(random_image(120, 80), "PNG"))
    data = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "path": "a.png"},
                ],
            }
        ]
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    return path


def test_layout_line_and_totals(request_file):
    result = runner.invoke(
        app, ["tokenize", str(request_file), "--profile", "qwen2-vl", "--tokenizer", QWEN_TIKTOKEN]
    )
    assert result.exit_code == 0, result.output
    h, w = smart_resize(80, 120, 28, 56 * 56, 28 * 28 * 1280)
    tokens = (h // 28) * (w // 28)
    # <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nDescribe
    assert f"image 1: grid 1×{h // 14}×{w // 14} → {tokens + 2} tokens" in result.output
    assert result.output.count("text ") >= 2
    assert f"image {tokens}" in result.output and "total" in result.output
    assert "warning" not in result.output


def test_json_keys(request_file):
    result = runner.invoke(
        app,
        [
            "tokenize",
            str(request_file),
            "--profile",
            "qwen2-vl",
            "--tokenizer",
            QWEN_TIKTOKEN,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "input_ids",
        "position_ids",
        "modality_ids",
        "spans",
        "image_grid_thw",
        "video_grid_thw",
        "special_tokens",
    ):
        assert key in data
    assert len(data["position_ids"]) == 3 and len(data["position_ids"][0]) == len(data["input_ids"])
    assert data["special_tokens"]["<|vision_start|>"] == 151652
    assert [s["modality"] for s in data["spans"]] == ["text", "image", "text"]


def test_out_writes_tensors(request_file, tmp_path):
    out = tmp_path / "t.safetensors"
    result = runner.invoke(
        app, ["tokenize", str(request_file), "--profile", "pixtral", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    tensors = load_file(str(out))
    for key in (
        "input_ids",
        "attention_mask",
        "modality_ids",
        "position_ids",
        "pixel_values",
        "image_grid_thw",
        "video_grid_thw",
    ):
        assert key in tensors
    assert tensors["input_ids"].shape == tensors["modality_ids"].shape
    assert tensors["image_grid_thw"].tolist() == [[1, 5, 8]]  # 80×120 px in 16-px patches
    assert tensors["video_grid_thw"].shape == (0, 3)


def test_fallback_warning_is_printed(request_file):
    result = runner.invoke(app, ["tokenize", str(request_file), "--profile", "qwen2.5-vl"])
    assert result.exit_code == 0
    assert "warning" in result.output and "approximate" in result.output


def test_errors_exit_nonzero_with_a_message(tmp_path, request_file):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"prompt": "<image> <image>", "media": [{"type": "image", "path": "a.png"}]})
    )
    result = runner.invoke(app, ["tokenize", str(bad), "--profile", "pixtral"])
    assert result.exit_code == 1  # bad input
    assert "2 placeholder(s)" in result.output
    gone = tmp_path / "gone.json"
    gone.write_text(
        json.dumps({"prompt": "<image>", "media": [{"type": "image", "path": "nope.png"}]})
    )
    result = runner.invoke(app, ["tokenize", str(gone), "--profile", "pixtral"])
    assert result.exit_code == 1 and "nope.png: file not found" in result.output
    result = runner.invoke(app, ["tokenize", str(request_file), "--mrope-advance", "sideways"])
    assert result.exit_code == 2
