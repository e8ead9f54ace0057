"""The per-batch function: rows equal ``mmtok tokenize``, lengths-only equals full, every bad
row keeps its place with an error, budgets behave as ``mmtok plan``, nothing is decoded
unless ``verify`` asks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mmtok.cli.tokenize  # noqa: F401  (registers the command)
from mmtok.budget.plan import plan_request
from mmtok.cli.app import app
from mmtok.errors import ConfigError
from mmtok.fusion.request import parse_request
from mmtok.pretokenize import rows as rows_module
from mmtok.pretokenize.rows import FULL_SCHEMA, LENGTHS_SCHEMA, RowOptions, build_row, process_batch
from mmtok.pretokenize.source import SourceRow
from tests.pretokenize_data import BAD, GOOD, chat, image, write_media

runner = CliRunner()
TOKENIZE_KEYS = ("input_ids", "position_ids", "modality_ids", "image_grid_thw", "video_grid_thw")


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    write_media(folder, video=True)
    return folder


def _row(request, folder, rid="r"):
    data = {k: v for k, v in request.items() if k != "id"}
    return SourceRow(rid, data, str(folder))


def _tokenize(request, folder, name, *extra):
    path = folder / f"{name}.json"
    path.write_text(json.dumps({k: v for k, v in request.items() if k != "id"}))
    result = runner.invoke(app, ["tokenize", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


WITH_VIDEO = chat({"type": "text", "text": "What happens?"}, {"type": "video", "path": "clip.mp4"})


@pytest.mark.parametrize("profile", ["qwen2-vl", "qwen2.5-vl", "llava-1.5"])
def test_rows_equal_mmtok_tokenize(media, profile):
    requests = [*GOOD, WITH_VIDEO] if profile.startswith("qwen") else GOOD
    table = process_batch([_row(r, media) for r in requests], RowOptions(profile=profile))
    assert table.schema.equals(FULL_SCHEMA)
    for i, (request, row) in enumerate(zip(requests, table.to_pylist(), strict=True)):
        assert row["error"] is None
        expected = _tokenize(request, media, f"{profile}-{i}", "--profile", profile)
        for key in TOKENIZE_KEYS:
            assert row[key] == expected[key], (i, key)
        assert row["num_tokens"] == len(expected["input_ids"]) and row["fitted"] is False


def test_derived_values_of_one_image_row(media):
    row = process_batch([_row(GOOD[0], media)], RowOptions()).to_pylist()[0]
    # 224×112 px lies inside Qwen2-VL's pixel limits and divides by 28: grid 1×(112/14)×(224/14)
    assert row["image_grid_thw"] == [[1, 8, 16]]
    assert row["modality_ids"].count(1) == 8 * 16 // 4  # 2×2 patches merge to one token
    assert len(row["position_ids"]) == 3  # M-RoPE: temporal, height, width rows
    assert row["num_tokens"] == len(row["input_ids"]) == len(row["position_ids"][0])
    assert row["video_grid_thw"] == []
    flat = process_batch([_row(GOOD[0], media)], RowOptions(profile="llava-1.5")).to_pylist()[0]
    assert flat["position_ids"] == [list(range(flat["num_tokens"]))]  # 1-D RoPE: 0 … L−1


def test_lengths_only_equals_full_lengths(media):
    requests = [*GOOD, WITH_VIDEO]
    full = process_batch([_row(r, media) for r in requests], RowOptions())
    short = process_batch([_row(r, media) for r in requests], RowOptions(lengths_only=True))
    assert short.schema.equals(LENGTHS_SCHEMA)
    assert short.column("num_tokens").to_pylist() == full.column("num_tokens").to_pylist()
    assert short.column("id").to_pylist() == full.column("id").to_pylist()


@pytest.mark.parametrize("kind", list(BAD))
def test_each_bad_row_keeps_its_place_with_an_error(media, kind):
    from mmtok.pretokenize.source import _row as parse_line

    bad = parse_line(BAD[kind], None, "2", media / "requests.jsonl", 2)
    batch = [_row(GOOD[0], media, "1"), bad, _row(GOOD[2], media, "3")]
    table = process_batch(batch, RowOptions(verify=True)).to_pylist()
    assert [r["id"] for r in table] == ["1", "2", "3"]
    assert table[0]["error"] is None and table[2]["error"] is None
    assert table[1]["error"]
    assert all(table[1][k] is None for k in FULL_SCHEMA.names if k not in ("id", "error"))
    expected = {
        "invalid JSON": "requests.jsonl:2: not valid JSON",
        "missing file": "nowhere.png",
        "corrupt image": "corrupt.png",
        "placeholder mismatch": "2 placeholder(s)",
    }[kind]
    assert expected in table[1]["error"]


def test_full_rows_decode_nothing_unless_verify(media, monkeypatch):
    request = {"prompt": "<image>", "media": [image("corrupt.png")]}
    assert build_row(_row(request, media), RowOptions(lengths_only=True))["error"] is None
    assert build_row(_row(request, media), RowOptions())["error"] is None  # headers only
    assert "corrupt.png" in build_row(_row(request, media), RowOptions(verify=True))["error"]
    calls = []
    monkeypatch.setattr(rows_module, "load", lambda plan: calls.append(plan))
    process_batch([_row(r, media) for r in GOOD], RowOptions())
    assert calls == []
    verified = process_batch([_row(r, media) for r in GOOD], RowOptions(verify=True))
    assert len(calls) == len(GOOD)
    assert verified.equals(process_batch([_row(r, media) for r in GOOD], RowOptions()))


def test_over_budget_is_an_error_row_without_fit(media):
    big = _row(GOOD[4], media)
    total = build_row(big, RowOptions(lengths_only=True))["num_tokens"]
    assert total > 500
    for lengths_only in (False, True):
        row = build_row(big, RowOptions(context=600, reserve_output=100, lengths_only=lengths_only))
        assert row["error"] == (
            f"over budget: {total:,} tokens > context − reserve (600 − 100 = 500)"
        )
        assert row.get("num_tokens") is None
    fits = build_row(big, RowOptions(context=total + 100, reserve_output=100))
    assert fits["error"] is None and fits["num_tokens"] == total  # exactly at the budget


def test_fit_matches_mmtok_plan_fit(media):
    big = _row(GOOD[4], media)
    row = build_row(big, RowOptions(context=600, reserve_output=100, fit=True))
    assert row["error"] is None and row["fitted"] is True
    assert row["num_tokens"] <= 500
    profile, tok = rows_module.tools("qwen2-vl", None)
    plan = plan_request(
        parse_request(big.request, base=big.base),
        profile,
        tok,
        context=600,
        reserve_output=100,
        fit=True,
    )
    assert plan.fits and row["num_tokens"] == plan.fitted_input_tokens
    lengths = build_row(
        big, RowOptions(context=600, reserve_output=100, fit=True, lengths_only=True)
    )
    assert lengths["num_tokens"] == row["num_tokens"]
    small = build_row(_row(GOOD[0], media), RowOptions(context=600, fit=True))
    assert small["fitted"] is False


def test_unexpected_exceptions_become_error_rows(media, monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("kaboom")

    monkeypatch.setattr(rows_module, "plan_sequence", boom)
    row = build_row(_row(GOOD[0], media), RowOptions())
    assert row["error"] == "unexpected ValueError: kaboom"


def test_profile_and_tokenizer_resolve_once_per_process(media):
    rows_module.tools.cache_clear()
    process_batch([_row(r, media) for r in GOOD], RowOptions(lengths_only=True))
    process_batch([_row(r, media) for r in GOOD], RowOptions(lengths_only=True))
    info = rows_module.tools.cache_info()
    assert info.misses == 1 and info.hits == 2 * len(GOOD) - 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (RowOptions(fit=True), "need --context"),
        (RowOptions(reserve_output=10), "need --context"),
        (RowOptions(context=0), "positive"),
        (RowOptions(context=100, reserve_output=100), "must exceed reserve_output 100"),
        (RowOptions(verify=True, lengths_only=True), "--verify"),
    ],
)
def test_inconsistent_options_are_refused(options, match):
    with pytest.raises(ConfigError, match=match):
        options.check()
