"""``mmtok serve``: bad options are one error line, before the server starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import mmtok.cli.serve  # noqa: F401  (registers the command)
from mmtok.cli.app import app

pytest.importorskip("uvicorn")
runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-level", "loud"], "--log-level 'loud': expected one of"),
        (["--profile", "nope"], "unknown profile 'nope'"),
        (["--media-root", "{tmp}/nowhere"], "not a folder"),
    ],
)
def test_bad_options_are_one_error_line_before_serving(tmp_path, args, message):
    result = runner.invoke(app, ["serve", *(a.format(tmp=tmp_path) for a in args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and message in lines[0]
