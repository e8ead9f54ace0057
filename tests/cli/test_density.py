"""``mmtok density``: the --compare table's chart and its bad options."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mmtok.cli.density  # noqa: F401  (registers the command)
from mmtok.cli.app import app

runner = CliRunner()


def test_compare_writes_the_chart(tmp_path):
    chart = tmp_path / "density.png"
    args = ["density", "--compare", "qwen2-vl,llava-1.5", "--chart", str(chart), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [r["profile"] for r in json.loads(result.stdout)] == ["qwen2-vl", "llava-1.5"]
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--compare", "qwen2-vl", "--chart", "{tmp}/nowhere/c.png"], 2, "no such folder"),
        (["--compare", "qwen2-vl", "--chart", "{tmp}"], 2, "is a folder, not a file"),
        (["--compare", "qwen2-vl", "--chart", "{tmp}/c.xyz"], 1, "cannot write"),
        (["--chart", "{tmp}/c.png"], 2, "give --compare too"),
        (["--compare", " , "], 2, "name at least one profile"),
    ],
)
def test_bad_options_are_one_error_line(tmp_path, args, code, message):
    result = runner.invoke(app, ["density", *(a.format(tmp=tmp_path) for a in args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code and len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and message in lines[0]
    assert list(tmp_path.iterdir()) == []
