"""``mmtok vq encode|decode|stats`` on tiny transformers folders and a ``train-vq`` checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import mmtok.cli.train
import mmtok.cli.vq  # noqa: F401  (registers the commands)
from mmtok.cli.app import app
from mmtok.discrete.families import image_token_count, is_vq_folder
from mmtok.discrete.health import CodebookHealth, psnr_u8, ssim_u8
from tests.images import random_image
from tests.parity.vq_folders import chameleon_folder, emu3_folder, janus_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for i, size in enumerate([(97, 61), (64, 64), (40, 90)]):
        random_image(*size, seed=i).save(folder / f"{i}.png")
    return folder


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_encode_writes_safetensors_and_the_sequence(images: Path, tmp_path: Path) -> None:
    folder = chameleon_folder(tmp_path / "chameleon")
    out = tmp_path / "ids.safetensors"
    data = json.loads(
        invoke("vq", "encode", folder, images / "0.png", "--out", out, "--sequence", "--json")
    )
    assert (data["rows"], data["cols"], data["codebook_size"]) == (4, 4, 8192)
    assert load_file(str(out))["ids"].tolist() == data["ids"]
    assert len(data["sequence"]) == 4 * 4 + 2 == image_token_count(folder, 61, 97)
    assert is_vq_folder(folder) and not is_vq_folder(images)
    config = json.loads((folder / "config.json").read_text())
    assert data["sequence"][0] == config["vocabulary_map"]["<racm3:break>"]
    assert data["sequence"][-1] == config["vocabulary_map"]["<eoss>"]
    # Chameleon's VQ-VAE in transformers has no decoder: a one-line error, exit 1
    result = runner.invoke(
        app, ["vq", "decode", str(folder), str(out), "--out", str(tmp_path / "x.png")]
    )
    assert result.exit_code == 1 and "no decoder" in result.output


def test_decode_round_trip_through_png(images: Path, tmp_path: Path) -> None:
    folder = janus_folder(tmp_path / "janus")
    ids = tmp_path / "ids.safetensors"
    invoke("vq", "encode", folder, images / "2.png", "--out", ids)
    png = tmp_path / "decoded.png"
    invoke("vq", "decode", folder, ids, "--out", png)
    assert Image.open(png).size == (64, 64)


def test_stats_reports_usage_quality_and_plots(images: Path, tmp_path: Path) -> None:
    folder = emu3_folder(tmp_path / "emu3")
    plot = tmp_path / "stats.png"
    report = json.loads(invoke("vq", "stats", folder, images, "--plot", plot, "--json"))
    assert report["images"] == 3 and report["codebook_size"] == 32768
    assert report["codes"] == sum(r["rows"] * r["cols"] for r in report["per_image"])
    assert report["used"] + report["dead"] == 32768
    assert 1 <= report["perplexity"] <= report["used"]
    assert all(r["psnr_db"] is not None and -1 <= r["ssim"] <= 1 for r in report["per_image"])
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_stats_on_a_train_vq_checkpoint(images: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "run"
    tiny = ["--image-size", "16", "--channels", "8", "--codebook-size", "16", "--latent-dim", "4"]
    invoke("train-vq", images, "--out", checkpoint, "--steps", "2", "--batch-size", "2", *tiny)
    report = json.loads(
        invoke("vq", "stats", checkpoint, images, "--plot", tmp_path / "p.png", "--json")
    )
    assert report["codebook_size"] == 16 and report["codes"] == 3 * 2 * 2
    assert report["mean_psnr_db"] is not None


def test_bad_folders_are_one_line_errors(images: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    result = runner.invoke(app, ["vq", "encode", str(tmp_path), str(images / "0.png")])
    assert result.exit_code == 1 and "not a VQ tokenizer" in result.output
    assert "Traceback" not in result.output


def test_health_numbers_by_hand() -> None:
    counts = np.array([2, 2, 0, 0], dtype=np.int64)  # two codes used evenly
    health = CodebookHealth(4, counts)
    assert (health.used, health.dead, health.utilisation) == (2, 2, 0.5)
    assert health.entropy_bits == pytest.approx(1.0) and health.perplexity == pytest.approx(2.0)
    a = np.zeros((16, 16, 3), dtype=np.uint8)
    assert psnr_u8(a + 1, a) == pytest.approx(10 * np.log10(255**2))  # MSE 1
    assert ssim_u8(a, a) == pytest.approx(1.0)
    noisy = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert ssim_u8(noisy, np.full_like(noisy, 128)) < 0.1


def test_cli_modules_do_not_import_torch() -> None:
    code = "import sys, mmtok.cli.vq, mmtok.cli.train; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert torch.__version__  # the test process itself may use torch
