"""Density table values derived by hand from each profile's rules."""

from __future__ import annotations

from mmtok.budget.density import audio_density, density_report, image_density, video_density
from mmtok.profiles import get_profile


def test_qwen_image_density():
    rows = {r.what: r.tokens for r in image_density(get_profile("qwen2-vl"))}
    # 224² → 224/28 = 8 merged tokens per side = 64, + 2 fences.
    assert rows["224×224"] == 66
    # 1024² → round(1024/28) = 37 → 1036² = 1,073,296 > 1,003,520 px cap:
    # beta = 1024/sqrt(1003520) = 1.0222 → floor(1024/1.0222/28) = 35 → 35² + 2 = 1,227.
    assert rows["1024×1024"] == 35 * 35 + 2


def test_qwen_video_density_for_a_minute_of_360p():
    (row, *_) = video_density(get_profile("qwen2-vl"), seconds=60, video_fps=30)
    # 1,800 frames at 2 fps → 120 frames → 60 temporal patches. 360×640 → 364×644 px
    # (13·28 × 23·28, inside the 100,352…602,112 video limits) → 26×46 patches → 299 tokens.
    assert row.tokens == 60 * 299 + 2
    assert abs(row.per_second - (60 * 299 + 2) / 60) < 1e-9


def test_audio_density_is_25_tokens_per_second():
    (row,) = audio_density(get_profile("generic"), seconds=30)
    # 30 s → 3,000 mel frames → conv stride 2 → 1,500 → pool 2 → 750 tokens, + 2 fences.
    assert row.tokens == 752


def test_profiles_without_time_media_have_image_rows_only():
    kinds = {r.kind for r in density_report(get_profile("llava-1.5"))}
    assert kinds == {"image"}


def test_cli_density_json():
    import json

    from typer.testing import CliRunner

    import mmtok.cli.density  # noqa: F401
    from mmtok.cli.app import app

    result = CliRunner().invoke(app, ["density", "--profile", "llava-1.5", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {r["tokens"] for r in rows} == {576}
