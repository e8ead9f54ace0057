"""Codec folders read from config.json alone: depths, rates and counts by hand; the CLI's
``mmtok codec`` on mmtok's own RVQ codec; typed errors and exit codes for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mmtok.audio.plan import resampled_length
from mmtok.cli.app import app, register
from mmtok.discrete.audio_codecs import codec_count, count_codec, encodec_codebooks, read_codec
from mmtok.errors import ConfigError
from tests.media_factory import tone, write_sound

runner = CliRunner()


def _folder(tmp_path: Path, config: dict[str, Any], name: str = "codec") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("bandwidth", "books"), [(1.5, 2), (3.0, 4), (6.0, 8), (12.0, 16), (24.0, 32)]
)
def test_encodec_24khz_bandwidths_by_hand(bandwidth: float, books: int) -> None:
    # 75 frames/s of 10-bit codes: 750 bps per codebook.
    assert encodec_codebooks(bandwidth, 24_000, 320, 1024) == books


def test_encodec_depth_from_bandwidth_or_codebooks(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"model_type": "encodec"})  # every key a default
    assert read_codec(folder).spec.num_codebooks == 2  # the smallest bandwidth, as encode does
    codec = read_codec(folder, codebooks=8)
    assert codec.bandwidth == 6.0 and codec.max_codebooks == 32
    with pytest.raises(ConfigError, match="none of"):
        read_codec(folder, bandwidth=5.0)
    with pytest.raises(ConfigError, match="none of"):
        read_codec(folder, codebooks=5)
    with pytest.raises(ConfigError, match="not both"):
        read_codec(folder, bandwidth=6.0, codebooks=8)


def test_chunked_encodec_is_refused_naming_the_key(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"model_type": "encodec", "chunk_length_s": 1.0, "overlap": 0.01})
    with pytest.raises(ConfigError, match=r"config\.json: 'chunk_length_s'"):
        read_codec(folder)


def test_dac_and_mimi_depths(tmp_path: Path) -> None:
    dac = _folder(tmp_path, {"model_type": "dac", "sampling_rate": 44_100}, "dac")
    spec = read_codec(dac).spec
    assert (spec.hop_length, spec.num_codebooks, spec.bitrate) == (512, 9, 44_100 / 512 * 90)
    with pytest.raises(ConfigError, match=r"1\.\.9"):
        read_codec(dac, codebooks=10)
    with pytest.raises(ConfigError, match="EnCodec"):
        read_codec(dac, bandwidth=6.0)
    mimi = _folder(tmp_path, {"model_type": "mimi", "frame_rate": 12.5}, "mimi")
    spec = read_codec(mimi, codebooks=8).spec
    assert (spec.hop_length, float(spec.frame_rate), spec.bitrate) == (1920, 12.5, 1100.0)
    with pytest.raises(ConfigError, match=r"1\.\.32"):
        read_codec(mimi, codebooks=0)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"model_type": "bert"}, "not an audio codec"),
        ({"model_type": "dac", "n_codebooks": "9"}, "'n_codebooks' must be a positive integer"),
        ({"model_type": "dac", "downsampling_ratios": [2, 0]}, "'downsampling_ratios'"),
        ({"model_type": "encodec", "sampling_rate": True}, "'sampling_rate'"),
    ],
)
def test_bad_configs_name_file_and_key(tmp_path: Path, config: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        read_codec(_folder(tmp_path, config))


def test_missing_folder_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no config\.json"):
        read_codec(tmp_path / "absent")
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "config.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_codec(folder)


def test_count_is_ceil_frames_times_codebooks(tmp_path: Path) -> None:
    spec = read_codec(_folder(tmp_path, {"model_type": "encodec"}), bandwidth=6.0).spec
    assert codec_count(24_000, spec).frames == 75 and codec_count(24_001, spec).frames == 76
    assert codec_count(1, spec).tokens == 8
    # 1.01 s at 16 kHz, resampled to 24 kHz by soxr's length rule, then ⌈N / 320⌉ frames.
    path = write_sound(tmp_path / "a.wav", tone(1.01, 16_000), 16_000)
    _, count = count_codec(path, read_codec(tmp_path / "codec", bandwidth=6.0))
    n = resampled_length(16_160, 16_000, 24_000)
    assert (count.num_samples, count.frames, count.tokens) == (n, -(-n // 320), -(-n // 320) * 8)


def test_codec_count_imports_no_torch(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"model_type": "mimi"})
    path = write_sound(tmp_path / "a.wav", tone(0.5, 24_000), 24_000)
    code = (
        "import sys; from mmtok.discrete.audio_codecs import read_codec, count_codec; "
        f"print(count_codec({str(path)!r}, read_codec({str(folder)!r}))[1].tokens); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(7 * 32)  # ⌈12,000 / 1,920⌉ = 7 frames × 32 codebooks


# The CLI, end to end on mmtok's own RVQ codec (a checkpoint written here).
@pytest.fixture
def rvq_folder(tmp_path: Path) -> Path:
    import torch

    from mmtok.discrete.checkpoint import save_model
    from mmtok.discrete.codec import CodecConfig, RVQCodec

    torch.manual_seed(0)
    folder = tmp_path / "rvq"
    save_model(folder, RVQCodec(CodecConfig(channels=8)).eval())
    return folder


def _cli(*args: str) -> Any:
    register(["codec"])
    return runner.invoke(app, ["codec", *args])


def test_cli_rvq_codec_count_encode_decode(rvq_folder: Path, tmp_path: Path) -> None:
    import soundfile as sf
    from safetensors.torch import load_file

    clip = write_sound(tmp_path / "c.flac", tone(0.5, 16_000), 16_000)
    counted = _cli("count", str(rvq_folder), str(clip), "--codebooks", "3", "--json")
    assert counted.exit_code == 0, counted.output
    row = json.loads(counted.output)[0]
    assert (row["frames"], row["codebooks"], row["tokens"]) == (125, 3, 375)  # 8000 / 64
    codes = tmp_path / "codes.safetensors"
    encoded = _cli("encode", str(rvq_folder), str(clip), "--out", str(codes), "--codebooks", "3")
    assert encoded.exit_code == 0, encoded.output
    assert tuple(load_file(str(codes))["codes"].shape) == (3, 125)
    back = tmp_path / "back.wav"
    decoded = _cli("decode", str(rvq_folder), str(codes), "--out", str(back))
    assert decoded.exit_code == 0, decoded.output
    assert sf.info(str(back)).frames == 8000 and sf.info(str(back)).samplerate == 16_000


def test_cli_exit_codes(rvq_folder: Path, tmp_path: Path) -> None:
    clip = write_sound(tmp_path / "c.wav", tone(0.2, 16_000), 16_000)
    bad_folder = _cli("count", str(tmp_path / "nowhere"), str(clip))
    assert bad_folder.exit_code == 2 and "config.json" in bad_folder.output
    missing = _cli("count", str(rvq_folder), str(tmp_path / "absent.wav"))
    assert missing.exit_code == 1 and "absent.wav" in missing.output
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors")
    bad_codes = _cli("decode", str(rvq_folder), str(junk), "--out", str(tmp_path / "x.wav"))
    assert bad_codes.exit_code == 1 and "junk.safetensors" in bad_codes.output
