"""``mmtok pretokenize``: rows equal ``mmtok tokenize``, bad rows recorded, the manifest,
lengths-only, --verify, budgets, the chart, resume, the folder as a standard Parquet dataset,
option errors that leave nothing behind."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import mmtok.cli.pretokenize
import mmtok.cli.tokenize  # noqa: F401  (both register their command)
from mmtok.cli.app import app
from mmtok.pretokenize import MANIFEST, read_output
from tests.pretokenize_data import BAD, GOOD, dataset, lines

runner = CliRunner()
KEYS = ("input_ids", "position_ids", "modality_ids", "image_grid_thw", "video_grid_thw")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return dataset(tmp_path_factory.mktemp("data"))


def _run(source, out, *extra):
    result = runner.invoke(app, ["pretokenize", str(source), str(out), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_row_equals_mmtok_tokenize_and_bad_rows_are_kept(source, tmp_path):
    manifest = _run(source, tmp_path / "out", "--shard-rows", "4", "--workers", "1", "--verify")
    table = read_output(tmp_path / "out").to_pylist()
    n_rows = sum(1 for line in lines() if line)
    assert len(table) == manifest["rows"] == n_rows  # never fewer rows than the input
    assert manifest["errors"] == len(BAD) and manifest["complete"] is True
    good = [r for r in table if r["error"] is None]
    assert len(good) == len(GOOD)
    for i, (request, row) in enumerate(zip(GOOD, good, strict=True)):
        path = source.parent / f"request-{i}.json"  # beside the media, as the JSONL is
        path.write_text(json.dumps({k: v for k, v in request.items() if k != "id"}))
        result = runner.invoke(app, ["tokenize", str(path), "--json"])
        assert result.exit_code == 0, result.output
        expected = json.loads(result.stdout)
        assert {k: row[k] for k in KEYS} == {k: expected[k] for k in KEYS}
    assert manifest["tokens"]["total"] == sum(r["num_tokens"] for r in good)
    assert manifest["profile"] == "qwen2-vl" and manifest["mmtok_version"]
    assert [s["rows"] for s in manifest["shards"]] == [4, 4, 1]
    assert json.loads((tmp_path / "out" / MANIFEST).read_text()) == manifest


def test_the_folder_reads_with_standard_readers(source, tmp_path):
    out = tmp_path / "out"
    _run(source, out, "--shard-rows", "4", "--workers", "1")
    expected = read_output(out)
    assert pq.read_table(out).equals(expected)
    assert ds.dataset(out).to_table().equals(expected)
    frame = pd.read_parquet(out)
    assert frame["id"].tolist() == expected.column("id").to_pylist()
    assert frame["num_tokens"].dropna().astype(int).tolist() == (
        expected.column("num_tokens").drop_null().to_pylist()
    )


def test_output_folder_as_argument_or_out_option(source, tmp_path):
    by_option = tmp_path / "by-option"
    result = runner.invoke(
        app, ["pretokenize", str(source), "--out", str(by_option), "--lengths-only", "--json"]
    )
    assert result.exit_code == 0, result.output
    _run(source, tmp_path / "by-argument", "--lengths-only")
    assert read_output(by_option).equals(read_output(tmp_path / "by-argument"))
    missing = runner.invoke(app, ["pretokenize", str(source)])
    assert missing.exit_code == 2 and "missing the output folder" in missing.output
    both = runner.invoke(app, ["pretokenize", str(source), "a", "--out", "b"])
    assert both.exit_code == 2 and "two output folders" in both.output


def test_a_rerun_with_other_options_names_them(source, tmp_path):
    out = tmp_path / "out"
    _run(source, out, "--lengths-only", "--shard-rows", "4")
    result = runner.invoke(app, ["pretokenize", str(source), str(out), "--shard-rows", "5"])
    assert result.exit_code == 2
    assert "options.lengths_only: true → false" in result.output
    assert "options.shard_rows: 4 → 5" in result.output


def test_lengths_only_writes_three_columns_with_the_full_lengths(source, tmp_path):
    _run(source, tmp_path / "full", "--workers", "1", "--verify")
    _run(source, tmp_path / "short", "--workers", "1", "--lengths-only")
    short = read_output(tmp_path / "short")
    assert short.column_names == ["id", "num_tokens", "error"]
    full = read_output(tmp_path / "full").to_pylist()
    for a, b in zip(short.to_pylist(), full, strict=True):
        if b["error"] is None:
            assert a["num_tokens"] == b["num_tokens"]
    corrupt = [i for i, b in enumerate(full) if b["error"] and "corrupt.png" in b["error"]]
    assert short.column("error")[corrupt[0]].as_py() is None  # headers probe fine


def test_budget_errors_and_fit(source, tmp_path):
    plain = _run(source, tmp_path / "plain", "--workers", "1", "--lengths-only")
    lengths = read_output(tmp_path / "plain").column("num_tokens").to_pylist()
    over = [n for n in lengths if n is not None and n > 300]
    assert over  # big.png
    capped = _run(
        source, tmp_path / "capped", "--workers", "1", "--context", "400", "--reserve-output", "100"
    )
    assert capped["errors"] == plain["errors"] + len(over)  # nothing decoded: + over budget
    rows = read_output(tmp_path / "capped").to_pylist()
    assert sum("over budget" in (r["error"] or "") for r in rows) == len(over)
    fitted = _run(
        source,
        tmp_path / "fitted",
        "--workers",
        "1",
        "--context",
        "400",
        "--reserve-output",
        "100",
        "--fit",
        "--chart",
        str(tmp_path / "lengths.png"),
    )
    assert fitted["fitted"] == len(over) and fitted["errors"] == plain["errors"]
    assert fitted["tokens"]["max"] <= 300
    assert (tmp_path / "lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_human_summary_and_resume(source, tmp_path):
    out = tmp_path / "out"
    args = ["pretokenize", str(source), str(out), "--shard-rows", "4", "--workers", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for word in ("rows", "errors", "tokens", "shards written · skipped", "3 · 0"):
        assert word in first.stdout
    (out / "shard-00001.parquet").unlink()
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "resuming: 2 of 3 shard(s) already written" in again.stderr
    assert "1 · 2" in again.stdout
    assert pq.read_metadata(out / "shard-00001.parquet").num_rows == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--context", "100", "--reserve-output", "100"], "must exceed reserve_output 100"),
        (["--fit"], "need --context"),
        (["--engine", "spark"], "--engine 'spark'"),
        (["--workers", "0"], "--workers 0"),
        (["--profile", "nope"], "unknown profile"),
        (["--shard-rows", "0"], "--shard-rows 0"),
        (["--verify", "--lengths-only"], "--verify"),
        (["--chart", "lengths.svg"], "expected a .png"),
        (["--chart", "nowhere/lengths.png"], "no such folder"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_write_nothing(source, tmp_path, args, message):
    result = runner.invoke(app, ["pretokenize", str(source), str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o").exists()
    good = runner.invoke(app, ["pretokenize", str(source), str(tmp_path / "o"), "--lengths-only"])
    assert good.exit_code == 0, good.output  # the corrected rerun is not refused


def test_missing_input_exits_2(tmp_path):
    result = runner.invoke(app, ["pretokenize", str(tmp_path / "no.jsonl"), str(tmp_path / "o")])
    assert result.exit_code == 2 and "no such input" in result.output
