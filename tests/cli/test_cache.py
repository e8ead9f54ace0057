"""``mmtok encode`` and ``mmtok cache stats|verify|clear`` on a tiny random tower."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from typer.testing import CliRunner

import mmtok.cli.cache  # noqa: F401  (registers the commands)
from mmtok.cli.app import app
from mmtok.fusion.plan import count_request
from mmtok.fusion.request import load_request
from mmtok.profiles import get_profile
from tests.cache.test_encode import save_qwen_tower
from tests.images import encode, random_image

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")


@pytest.fixture(scope="module")
def tower(tmp_path_factory) -> Path:
    return save_qwen_tower(tmp_path_factory.mktemp("tower"))


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    """Three images, the third the same bytes as the first under another name."""
    a = encode(random_image(40, 32, seed=1), "PNG")
    (tmp_path / "a.png").write_bytes(a)
    (tmp_path / "b.png").write_bytes(encode(random_image(24, 48, seed=2), "PNG"))
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a-copy.png").write_bytes(a)
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "path": "a.png"},
        {"type": "image", "path": "b.png"},
        {"type": "image", "path": "media/a-copy.png"},
    ]
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": content}]}))
    return path


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def encode_json(request: Path, tower: Path, cache: Path, *extra: str | Path) -> dict:
    code, out = run(
        "encode", request, "--profile", tower, "--vision-tower", tower, "--cache", cache,
        "--json", *extra,
    )  # fmt: skip
    assert code == 0, out
    return json.loads(out[out.index("{") :])  # after any warning lines


def test_encode_writes_features_and_spans_then_hits(request_file, tower, tmp_path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "tokens.safetensors"
    first = encode_json(request_file, tower, cache, "--out", out)
    assert [it["cached"] for it in first["items"]] == [False, False, True]
    assert first["items"][0]["key"] == first["items"][2]["key"]
    counted = count_request(load_request(request_file), get_profile(tower))
    spans = [s for s in counted.spans if s.modality == "image"]
    assert [it["span"] for it in first["items"]] == [[s.start, s.end] for s in spans]
    with safe_open(str(out), "pt") as f:
        assert sorted(f.keys()) == ["grid_thw", "image.0", "image.1", "image.2", "spans"]
        assert f.get_tensor("spans").tolist() == [[s.start, s.end] for s in spans]
        assert torch.equal(f.get_tensor("image.0"), f.get_tensor("image.2"))
        grid = f.get_tensor("grid_thw")[1].tolist()
        assert f.get_tensor("image.1").shape == (1, grid[0] * grid[1] * grid[2], 16)
        items = json.loads(f.metadata()["items"])
        assert [it["source"] for it in items] == [it["source"] for it in first["items"]]

    second = encode_json(request_file, tower, cache, "--out", tmp_path / "again.safetensors")
    assert [it["cached"] for it in second["items"]] == [True, True, True]
    with (
        safe_open(str(out), "pt") as f,
        safe_open(str(tmp_path / "again.safetensors"), "pt") as g,
    ):
        for name in f.keys():  # noqa: SIM118 (safe_open has no __iter__)
            assert torch.equal(f.get_tensor(name), g.get_tensor(name))

    code, text = run("cache", "stats", "--dir", cache, "--json")
    stats = json.loads(text)
    assert code == 0 and stats["entries"] == 2 and stats["bytes"] > 0
    assert (stats["hits"], stats["misses"], stats["evictions"]) == (4, 2, 0)
    assert (stats["disk_hits"], stats["writes"]) == (2, 2)


def test_encode_table_output(request_file, tower, tmp_path) -> None:
    code, out = run(
        "encode", request_file, "--profile", tower, "--vision-tower", tower,
        "--cache", tmp_path / "c",
    )  # fmt: skip
    assert code == 0, out
    assert out.count("computed") == 2 and "hit" in out and "hits 1 · misses 2" in out


def test_encode_without_a_cache_and_with_errors(request_file, tower, tmp_path) -> None:
    code, out = run("encode", request_file, "--vision-tower", tower)  # profile from the tower
    assert code == 0 and "qwen2-vl@tower" in out, out
    code, out = run("encode", tmp_path / "absent.json", "--profile", tower, "--vision-tower", tower)
    assert code == 1 and "request file not found" in out
    code, out = run("encode", request_file, "--profile", tower, "--vision-tower", tmp_path)
    assert code == 2 and "config.json" in out


def test_verify_reports_bad_entries_and_clear_empties(request_file, tower, tmp_path) -> None:
    cache = tmp_path / "cache"
    encode_json(request_file, tower, cache)
    code, out = run("cache", "verify", "--dir", cache)
    assert code == 0 and "2 entries checked, 0 bad" in out
    entry = sorted((cache / "entries").glob("*.safetensors"))[0]
    blob = bytearray(entry.read_bytes())
    blob[100] ^= 0x20
    entry.write_bytes(bytes(blob))
    code, out = run("cache", "verify", "--dir", cache, "--json")
    report = json.loads(out)
    assert code == 1 and report["checked"] == 2
    assert [b["path"] for b in report["bad"]] == [str(entry)]
    code, out = run("cache", "clear", "--dir", cache, "--json")
    assert code == 0 and json.loads(out)["removed"] == 2
    code, out = run("cache", "stats", "--dir", cache, "--json")
    assert json.loads(out)["entries"] == 0 and json.loads(out)["hits"] == 0
    code, out = run("cache", "stats", "--dir", cache)
    assert code == 0 and "entries" in out


def test_missing_directory_is_an_error(tmp_path) -> None:
    code, out = run("cache", "stats", "--dir", tmp_path / "absent")
    assert code == 2 and "no such cache directory" in out
