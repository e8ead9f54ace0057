"""``mmtok train-vq``, ``train-codec``, ``vq-encode`` and ``vq-decode`` on generated media."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import mmtok.cli.train
import mmtok.cli.vq  # noqa: F401  (registers the commands)
from mmtok.cli.app import app
from mmtok.discrete.checkpoint import load_model
from mmtok.discrete.vq import pixels_to_image
from tests.discrete.test_vq import synthetic_images
from tests.media_factory import tone, write_sound

runner = CliRunner()

TINY_VQ = [
    *("--image-size", "16", "--downsample", "8", "--channels", "8"),
    *("--codebook-size", "16", "--latent-dim", "4", "--batch-size", "4", "--log-every", "2"),
]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for i, pixels in enumerate(synthetic_images(12, 24, seed=0)):  # 24 px: fitted to 16
        pixels_to_image(pixels).save(folder / f"{i:02}.png")
    return folder


def train_vq(folder: Path, out: Path, *extra: str) -> str:
    result = runner.invoke(app, ["train-vq", str(folder), "--out", str(out), *TINY_VQ, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_train_vq_saves_checkpoints_metrics_and_plot(image_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    stdout = train_vq(image_folder, out, "--steps", "4", "--save-every", "2")
    assert "step      2" in stdout and "step      4" in stdout and "psnr" in stdout
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "trainer.json",
        "metrics.json",
        "metrics.png",
    }
    rows = json.loads((out / "metrics.json").read_text())
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[0]["codebooks"][0]) == {"usage", "perplexity", "dead", "restarts"}
    assert json.loads((out / "trainer.json").read_text())["step"] == 4
    assert (out / "metrics.png").read_bytes()[:4] == b"\x89PNG"


def test_resumed_training_matches_an_uninterrupted_run(image_folder: Path, tmp_path: Path) -> None:
    train_vq(image_folder, tmp_path / "straight", "--steps", "6")
    train_vq(image_folder, tmp_path / "resumed", "--steps", "3")
    train_vq(image_folder, tmp_path / "resumed", "--steps", "6", "--resume")
    for name in ("model.safetensors", "optimizer.safetensors"):
        straight = load_file(str(tmp_path / "straight" / name))
        resumed = load_file(str(tmp_path / "resumed" / name))
        assert straight.keys() == resumed.keys()
        assert all(torch.equal(straight[k], resumed[k]) for k in straight), name
    rows = [
        json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("straight", "resumed")
    ]
    assert rows[0] == rows[1]


def test_an_existing_checkpoint_is_not_overwritten(image_folder: Path, tmp_path: Path) -> None:
    train_vq(image_folder, tmp_path / "run", "--steps", "1")
    result = runner.invoke(
        app, ["train-vq", str(image_folder), "--out", str(tmp_path / "run"), *TINY_VQ]
    )
    assert result.exit_code == 2
    assert "already holds a checkpoint" in result.output


def test_vq_encode_and_decode_through_png(image_folder: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "run"
    train_vq(image_folder, checkpoint, "--steps", "8")
    ids_file = tmp_path / "ids.json"
    args = ["vq-encode", str(image_folder / "00.png"), "-c", str(checkpoint)]
    result = runner.invoke(app, [*args, "--out", str(ids_file), "--json"])
    assert result.exit_code == 0, result.output
    encoded = json.loads(result.stdout)
    assert (encoded["height"], encoded["width"], encoded["codebook_size"]) == (2, 2, 16)
    assert isinstance(encoded["stable"], bool)
    assert json.loads(ids_file.read_text()) == encoded
    png = tmp_path / "decoded.png"
    result = runner.invoke(
        app, ["vq-decode", str(ids_file), "-c", str(checkpoint), "--out", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert Image.open(png).size == (16, 16)
    # the PNG re-encodes exactly as the decoded tensor does: 8-bit decoding loses nothing
    model = load_model(checkpoint)
    expected = model.reencode(torch.tensor([encoded["ids"]]))[0].tolist()
    again = runner.invoke(app, ["vq-encode", str(png), "-c", str(checkpoint), "--json"])
    assert json.loads(again.stdout)["ids"] == expected
    assert encoded["stable"] == (expected == encoded["ids"])


def test_train_codec_on_audio_files(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    for i, freq in enumerate((220.0, 440.0, 880.0)):
        write_sound(folder / f"{i}.wav", tone(0.5, 22_050, freq), 22_050)  # resampled to 16 kHz
    args = [
        *("train-codec", str(folder), "--out", str(tmp_path / "codec"), "--json"),
        *("--segment", "1024", "--strides", "4,4", "--channels", "8", "--latent-dim", "4"),
        *("--codebook-size", "16", "--num-quantizers", "2", "--steps", "3", "--batch-size", "4"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["examples"] == 3 * (8000 // 1024)  # 0.5 s at 16 kHz, whole segments
    assert summary["final"]["step"] == 3
    assert len(summary["final"]["codebooks"]) == 2
    assert "si_sdr_db" in summary["final"]


def test_errors_name_the_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["train-vq", str(empty), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "no files ending in" in result.output
    result = runner.invoke(
        app, ["train-codec", str(empty), "--out", str(tmp_path / "x"), "--strides", "4,x"]
    )
    assert result.exit_code == 2 and "--strides" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ids": [[1, 2], [3]]}))
    result = runner.invoke(
        app, ["vq-decode", str(bad), "-c", str(tmp_path), "--out", str(tmp_path / "o.png")]
    )
    assert result.exit_code == 2 and "config.json: missing" in result.output
    result = runner.invoke(app, ["vq-encode", str(bad), "-c", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "missing" in result.output


def test_decode_refuses_ragged_ids(image_folder: Path, tmp_path: Path) -> None:
    train_vq(image_folder, tmp_path / "run", "--steps", "1")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ids": [[1, 2], [3]]}))
    args = ["vq-decode", str(bad), "-c", str(tmp_path / "run"), "--out", str(tmp_path / "o.png")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "bad.json: not a JSON grid" in result.output
    bad.write_text(json.dumps([[0, 99]]))
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "[0, 16)" in result.output
    assert not (tmp_path / "o.png").exists()
