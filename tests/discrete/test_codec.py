"""The RVQ audio codec: a tiny model trained on generated tones and chirps, decoded from any
prefix of its codebooks."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch

from mmtok.discrete.codec import CodecConfig, RVQCodec, si_sdr
from mmtok.discrete.quantize import QuantizerConfig
from mmtok.discrete.training import TrainConfig, init_model, train

SAMPLE_RATE = 16_000
# After 400 CPU steps (seed 0), on 64 held-out clips: 11.6, 14.4, 15.2 and 15.4 dB decoding
# from 1, 2, 3 and 4 codebooks; the bar leaves margin for other CPUs' arithmetic.
MIN_SI_SDR_DB = 13.0


def synthetic_audio(n: int, length: int, seed: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """(n, length) waves: even items pure tones, odd items linear chirps; 100–1000 Hz,
    amplitude 0.3–0.8, random phase."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / sample_rate
    out = torch.empty(n, length)
    for i in range(n):
        amplitude = 0.3 + 0.5 * torch.rand((), generator=g)
        phase = 2 * math.pi * torch.rand((), generator=g)
        f0, f1 = 100 + 900 * torch.rand(2, generator=g)
        cycles = f0 * t + (f1 - f0) * t**2 / (2 * t[-1]) if i % 2 else f0 * t
        out[i] = amplitude * torch.sin(2 * math.pi * cycles + phase)
    return out


def small_codec_config() -> CodecConfig:
    quantizer = QuantizerConfig(dim=16, codebook_size=256, decay=0.9, dead_threshold=0.25)
    return CodecConfig(quantizer, num_quantizers=4, channels=32, strides=(4, 4, 4))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RVQCodec, Path]:
    """400 steps of 16 × 2048 samples (0.128 s), 4 codebooks of 256: about 10 s of CPU."""
    model = init_model(small_codec_config(), seed=0)
    out = tmp_path_factory.mktemp("codec")
    config = TrainConfig(steps=400, batch_size=16, learning_rate=2e-3, save_every=400)
    train(model, synthetic_audio(1024, 2048, seed=0), out, config)
    return model.eval(), out


def test_si_sdr_by_hand() -> None:
    """A sine plus 0.1 of its (orthogonal) cosine: SI-SDR = 20·log10(1 / 0.1) = 20 dB, and a
    gain does not change it."""
    t = torch.arange(1600) / SAMPLE_RATE
    reference = torch.sin(2 * math.pi * 100 * t)[None]  # 10 whole periods
    estimate = 3 * (reference + 0.1 * torch.cos(2 * math.pi * 100 * t)[None])
    assert float(si_sdr(estimate, reference)[0]) == pytest.approx(20.0, abs=1e-3)


def test_frames_bitrate_and_shapes() -> None:
    torch.manual_seed(0)
    model = RVQCodec(small_codec_config()).eval()
    spec = model.config.spec
    assert model.config.hop_length == 64
    assert spec.frame_rate == 250  # 16000 / 64
    assert spec.bitrate == 250 * 4 * 8  # 4 codebooks of 256 codes
    codes = model.encode(torch.randn(3, 1000))
    assert codes.shape == (3, spec.num_frames(1000), 4) == (3, 16, 4)
    for n in range(1, 5):
        assert model.decode(codes[..., :n]).shape == (3, 16 * 64)


def test_trained_codec_reaches_si_sdr_and_more_codebooks_help(trained) -> None:
    model, _ = trained
    held_out = synthetic_audio(64, 2048, seed=1)
    codes = model.encode(held_out)
    assert codes.shape == (64, 32, 4)
    scores = [float(si_sdr(model.decode(codes[..., :n]), held_out).mean()) for n in range(1, 5)]
    assert scores[-1] >= MIN_SI_SDR_DB, scores
    assert all(b > a for a, b in itertools.pairwise(scores)), scores


def test_training_history_tracks_every_codebook(trained) -> None:
    _, out = trained
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((out / "metrics.json").read_text())
    assert len(rows) == 400 and [r["step"] for r in rows[:3]] == [1, 2, 3]
    assert all(len(r["codebooks"]) == 4 for r in rows)
    assert rows[-1]["codebooks"][0]["usage"] > 0.3
