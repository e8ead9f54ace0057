"""``mmtok compress`` and ``mmtok compress-eval`` on images drawn in the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import mmtok.cli.compress  # noqa: F401  (registers the commands)
from mmtok.cli.app import app
from tests.images import random_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
runner = CliRunner()


def halves(path: Path) -> Path:
    """56×28 px = 2 × 4 patches of 14: top row red, bottom row blue."""
    image = Image.new("RGB", (56, 28), RED)
    image.paste(BLUE, (0, 14, 56, 28))
    image.save(path)
    return path


def one_red_patch(path: Path) -> Path:
    """56×28 px of white with the patch at (row 1, column 2) red."""
    image = Image.new("RGB", (56, 28), WHITE)
    image.paste(RED, (28, 14, 42, 28))
    image.save(path)
    return path


def flat(text: str) -> str:
    """Output with rich's line wrapping undone, so long paths compare whole."""
    return text.replace("\n", "")


def invoke(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tome_merges_the_two_colours_exactly(tmp_path: Path) -> None:
    # Round 1 pairs every patch with its same-colour right neighbour; round 2 (A = red,
    # blue; B = red, blue) joins the pairs: one red and one blue token, lossless.
    overlay = tmp_path / "tome.png"
    report = invoke(
        "compress", str(halves(tmp_path / "a.png")), "--method", "tome", "--keep", "2",
        "--overlay", str(overlay),
    )  # fmt: skip
    assert report["grid"] == [1, 2, 4] and report["tokens_in"] == 8
    assert report["tokens_out"] == 2 and report["largest_group"] == 4 and report["pruned"] == 0
    assert report["quality"] == pytest.approx(1.0)
    drawn = Image.open(overlay)
    assert drawn.size == (56, 28)
    # group 0's colour is hue 0 → (255, 38, 38); tint 0.45 over red: (255, 17, 17)
    assert drawn.getpixel((5, 5)) == (255, 17, 17)
    assert drawn.getpixel((5, 13)) == (0, 0, 0)  # border where the groups meet


def test_prune_keeps_the_odd_patch_and_greys_the_rest(tmp_path: Path) -> None:
    overlay = tmp_path / "prune.png"
    report = invoke(
        "compress", str(one_red_patch(tmp_path / "b.png")), "--method", "prune", "--keep", "1",
        "--overlay", str(overlay),
    )  # fmt: skip
    assert report["tokens_out"] == 1 and report["pruned"] == 7
    drawn = Image.open(overlay)
    assert drawn.getpixel((30, 20)) == RED  # kept alone: untouched
    assert drawn.getpixel((3, 3)) == (63, 63, 63)  # pruned white: grey at 0.25 brightness


@pytest.mark.parametrize(("method", "keep", "tokens"), [("pool", 2, 2), ("pool", 5, 2),
                                                        ("qformer", 3, 3)])  # fmt: skip
def test_pool_and_qformer_counts(tmp_path: Path, method: str, keep: int, tokens: int) -> None:
    report = invoke("compress", str(halves(tmp_path / "c.png")), "--method", method,
                    "--keep", str(keep))  # fmt: skip
    assert report["tokens_out"] == tokens  # pool: 2×2 windows leave 1 × 2 ≤ keep


def test_human_output_is_a_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compress", str(halves(tmp_path / "d.png")), "--keep", "4"])
    assert result.exit_code == 0 and "tokens_out" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "magic"], "choose from"),
        (["--keep", "9"], "keep=9"),
        (["--patch-size", "0"], "patch size 0"),
    ],
)
def test_bad_options_fail_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["compress", str(halves(tmp_path / "e.png")), *args])
    assert result.exit_code == 2 and message in flat(result.output)


def test_unwritable_overlay_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "o.png"
    result = runner.invoke(app, ["compress", str(halves(tmp_path / "g.png")), "--keep", "4",
                                 "--overlay", str(target)])  # fmt: skip
    assert result.exit_code == 2 and "no such folder" in flat(result.output)
    unwritable = tmp_path / "o.unknown-suffix"  # the folder exists; PIL cannot write the format
    result = runner.invoke(app, ["compress", str(halves(tmp_path / "g.png")), "--keep", "4",
                                 "--overlay", str(unwritable)])  # fmt: skip
    assert result.exit_code == 1 and "cannot write" in flat(result.output)


def test_corrupt_image_fails_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    result = runner.invoke(app, ["compress", str(bad)])
    assert result.exit_code == 1 and "bad.png" in flat(result.output)


def test_eval_table_chart_and_hand_values(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    halves(folder / "halves.png")
    chart = tmp_path / "chart.png"
    rows = invoke(
        "compress-eval", str(folder), "--methods", "tome,pool", "--keep", "2,8",
        "--chart", str(chart),
    )  # fmt: skip
    quality = {(r["method"], r["keep"]): r["quality"] for r in rows}
    assert quality[("tome", 2)] == pytest.approx(1.0)  # red and blue kept apart
    # 2×2 windows mix one red and one blue row: every patch is rebuilt as the mean colour,
    # exactly the no-information baseline
    assert quality[("pool", 2)] == pytest.approx(0.0, abs=1e-6)
    assert quality[("tome", 8)] == pytest.approx(1.0)  # nothing to compress
    assert Image.open(chart).size == (720, 480)


def test_eval_averages_images_and_skips_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    halves(folder / "a.png")
    random_image(70, 42).save(folder / "b.jpg")  # 5 × 3 patches
    (folder / "c.png").write_bytes(b"broken")
    (folder / "notes.txt").write_text("ignored")
    result = runner.invoke(
        app, ["compress-eval", str(folder), "--methods", "tome,prune", "--keep", "4,12", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    images = {(r["method"], r["keep"]): r["images"] for r in rows}
    # keep 12 exceeds the 8 tokens of a.png: only b.jpg counts there
    assert images == {("tome", 4): 2, ("tome", 12): 1, ("prune", 4): 2, ("prune", 12): 1}
    assert "skipped" in result.stderr and "c.png" in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--methods", "tome,zip"], "choose from"), (["--keep", "4,x"], "comma-separated")],
)
def test_eval_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    halves(tmp_path / "a.png")
    result = runner.invoke(app, ["compress-eval", str(tmp_path), *args])
    assert result.exit_code == 2 and message in flat(result.output)


def test_eval_empty_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compress-eval", str(tmp_path)])
    assert result.exit_code == 2 and "no images" in flat(result.output)


def test_compress_with_a_vision_tower(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.SiglipVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        image_size=32, patch_size=8,
    )  # fmt: skip
    folder = tmp_path / "siglip"
    transformers.SiglipVisionModel(config).save_pretrained(folder)
    transformers.SiglipImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(folder)
    report = invoke(
        "compress", str(halves(tmp_path / "f.png")), "--vision-tower", str(folder),
        "--method", "tome", "--keep", "5",
    )  # fmt: skip
    assert report["grid"] == [1, 4, 4] and report["tokens_out"] == 5
    assert len(report["identity"]) == 64  # the tower's sha256 identity
    assert report["features"].startswith("siglip (")  # its family and folder, for people
