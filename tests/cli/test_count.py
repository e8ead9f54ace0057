"""``mmtok count``: the table, the JSON contract, and the exit code on bad files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import mmtok.cli.count  # noqa: F401  (registers the command)
from mmtok.cli.app import app
from tests.images import encode, random_image

runner = CliRunner()


def test_json_rows_have_the_contract_keys(tmp_path):
    a = tmp_path / "a.jpg"
    a.write_bytes(encode(random_image(1000, 700), "JPEG"))
    result = runner.invoke(app, ["count", "--profile", "pixtral", "--json", str(a)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert set(rows[0]) >= {"path", "kind", "width", "height", "resized", "grid", "tokens"}
    assert rows[0]["tokens"] == 2816 and rows[0]["resized"] == [704, 1008]


def test_bad_file_is_reported_and_exit_is_non_zero(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(random_image(56, 56), "PNG"))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    result = runner.invoke(app, ["count", "--json", str(good), str(bad)])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert rows[0]["tokens"] == 4 and rows[0]["error"] is None
    assert rows[1]["tokens"] is None and "bad.jpg" in rows[1]["error"]


def test_table_shows_a_total(tmp_path):
    paths = []
    for i, size in enumerate([(56, 56), (112, 56)]):
        p = tmp_path / f"{i}.png"
        p.write_bytes(encode(random_image(*size), "PNG"))
        paths.append(str(p))
    result = runner.invoke(app, ["count", "--profile", "qwen2-vl", *paths])
    assert result.exit_code == 0
    assert "total" in result.stdout and "12" in result.stdout  # 4 + 8 tokens


def test_pixel_overrides(tmp_path):
    p = tmp_path / "big.png"
    p.write_bytes(encode(random_image(560, 560), "PNG"))
    result = runner.invoke(app, ["count", "--json", "--max-pixels", str(28 * 28 * 4), str(p)])
    assert json.loads(result.stdout)[0]["tokens"] == 4
    result = runner.invoke(app, ["count", "--profile", "pixtral", "--max-pixels", "10", str(p)])
    assert result.exit_code == 2 and "dynamic-resolution" in result.output


def test_vq_folders_count_codes_and_their_span_from_the_header(tmp_path):
    """97×61: Chameleon crops 64² (16 px codes: 4×4, begin + 16 + end); Emu3 smart-resizes to
    64×96 (8 px codes: 8×12; begin, "8*12" as 4 ids, wrapper, 8 rows of 12 + row end, tail,
    end = 112); a WAV is refused in its row."""
    from tests.media_factory import tone, write_sound
    from tests.parity.vq_folders import chameleon_folder, emu3_folder

    image = tmp_path / "a.png"
    image.write_bytes(encode(random_image(97, 61), "PNG"))
    write_sound(tmp_path / "b.wav", tone(0.5), 16_000)
    expected = {chameleon_folder: ([64, 64], [4, 4], 18), emu3_folder: ([64, 96], [8, 12], 112)}
    for build, (resized, grid, tokens) in expected.items():
        folder = build(tmp_path / build.__name__, weights=False)
        argv = ["count", "--profile", str(folder), "--json", str(image), str(tmp_path / "b.wav")]
        result = runner.invoke(app, argv)
        assert result.exit_code == 1, result.output
        row, wav = json.loads(result.stdout)
        assert (row["resized"], row["grid"], row["tokens"]) == (resized, grid, tokens)
        assert row["feature_tokens"] == grid[0] * grid[1] and row["kind"] == "image"
        assert wav["tokens"] is None and "takes images" in wav["error"]
    table = runner.invoke(app, ["count", "--profile", str(tmp_path / "emu3_folder"), str(image)])
    assert table.exit_code == 0 and "8×12" in table.stdout and "112" in table.stdout
