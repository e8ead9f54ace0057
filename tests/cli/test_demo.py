"""``mmtok demo`` runs end to end on the generated samples."""

from __future__ import annotations

from typer.testing import CliRunner

import mmtok.cli.demo  # noqa: F401
from mmtok.cli.app import app


def test_demo_runs(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "request.json").exists()
    # The sample diagram (1800×240) under qwen2-vl: 252×1792 px → 9×64 merged tokens = 576.
    assert "576" in result.stdout
    assert "Fit into a 1,500-token context" in result.stdout
