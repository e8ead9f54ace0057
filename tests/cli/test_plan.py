"""``mmtok plan``: the JSON contract, exit codes, the chart, bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import mmtok.cli.plan  # noqa: F401  (registers the command)
from mmtok.cli.app import app
from tests.images import png_claiming

runner = CliRunner()


def _request(tmp_path, n_images=2, text="Compare these."):
    for i in range(n_images):
        (tmp_path / f"{i}.png").write_bytes(png_claiming(1200, 900))
    content = [{"type": "text", "text": text}]
    content += [{"type": "image", "path": f"{i}.png"} for i in range(n_images)]
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": content}]}))
    return str(path)


def test_json_has_the_contract_keys(tmp_path):
    req = _request(tmp_path)
    result = runner.invoke(app, ["plan", req, "--context", "32000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "context",
        "reserve_output",
        "input_tokens",
        "headroom",
        "fits",
        "items",
        "checks",
        "cost",
    ):
        assert key in data
    assert data["headroom"] == 32000 - data["input_tokens"]
    images = [i for i in data["items"] if i["kind"] == "image"]
    # 1200×900 → round(900/28)=32, round(1200/28)=43 → 896×1204 > 1,003,520 px: scaled down.
    assert len(images) == 2 and all(i["tokens"] > 0 for i in images)
    assert {"linear_flops", "attention_flops", "kv_cache_bytes", "ttft_seconds"} <= set(
        data["cost"]
    )


def test_over_budget_exits_non_zero_unless_fitting(tmp_path):
    req = _request(tmp_path)
    result = runner.invoke(app, ["plan", req, "--context", "1000", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["fits"] is False
    chart = tmp_path / "chart.png"
    result = runner.invoke(
        app,
        [
            "plan",
            req,
            "--context",
            "1000",
            "--reserve-output",
            "200",
            "--fit",
            "--json",
            "--chart",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["fits"] and data["fitted_input_tokens"] <= 800
    assert all("max_pixels" in i["params"] for i in data["items"] if i["kind"] == "image")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_output(tmp_path):
    result = runner.invoke(app, ["plan", _request(tmp_path), "--context", "32000"])
    assert result.exit_code == 0
    assert "headroom" in result.stdout and "verdict" in result.stdout


def test_bad_input_is_a_clear_error(tmp_path):
    req = _request(tmp_path, text="word " * 300)
    result = runner.invoke(app, ["plan", req, "--context", "100", "--fit"])
    assert result.exit_code == 1 and "text alone" in result.output
    result = runner.invoke(app, ["plan", req, "--context", "100", "--reserve-output", "200"])
    assert result.exit_code == 2 and "context 100 must exceed reserve_output 200" in result.output
    result = runner.invoke(app, ["plan", req, "--context", "9000", "--llm", "gpt-9"])
    assert result.exit_code == 2 and "unknown LLM 'gpt-9'" in result.output
    bad = tmp_path / "config.json"
    bad.write_text("{")
    result = runner.invoke(app, ["plan", req, "--context", "9000", "--llm", str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_tokenize_encodes_exactly_the_fitted_request(tmp_path):
    import mmtok.cli.tokenize  # noqa: F401
    from tests.images import encode as encode_image
    from tests.images import random_image

    for i in range(2):
        (tmp_path / f"{i}.png").write_bytes(encode_image(random_image(600, 450, seed=i), "PNG"))
    content = [{"type": "text", "text": "Compare."}]
    content += [{"type": "image", "path": f"{i}.png"} for i in range(2)]
    req = tmp_path / "request.json"
    req.write_text(json.dumps({"messages": [{"role": "user", "content": content}]}))
    args = ["--context", "400", "--reserve-output", "100"]
    result = runner.invoke(app, ["tokenize", str(req), *args, "--json"])
    assert result.exit_code == 1 and "over budget" in result.output
    plan = json.loads(runner.invoke(app, ["plan", str(req), *args, "--fit", "--json"]).stdout)
    result = runner.invoke(app, ["tokenize", str(req), *args, "--fit", "--json"])
    assert result.exit_code == 0, result.output
    encoded = json.loads(result.stdout)
    assert len(encoded["input_ids"]) == plan["fitted_input_tokens"] <= 300
    grids = [i["grid"] for i in plan["items"] if i["kind"] == "image"]
    assert encoded["image_grid_thw"] == grids


def test_a_chart_path_that_is_a_folder_is_refused_before_work(tmp_path):
    """Not a chart silently written beside it (matplotlib appends ``.png``)."""
    req = _request(tmp_path)
    (tmp_path / "charts").mkdir()
    result = runner.invoke(
        app, ["plan", req, "--context", "32000", "--chart", str(tmp_path / "charts")]
    )
    assert result.exit_code == 2 and "is a folder, not a file" in result.output
    assert not (tmp_path / "charts.png").exists()


def test_an_impossible_accelerator_is_one_error_line(tmp_path):
    req = _request(tmp_path)
    for option in ("--utilisation", "--peak-tflops"):
        result = runner.invoke(app, ["plan", req, "--context", "32000", option, "0"])
        assert not isinstance(result.exception, ZeroDivisionError), result.exception
        assert result.exit_code == 2 and result.stderr.startswith("error:"), result.output
        assert "must be" in result.stderr
