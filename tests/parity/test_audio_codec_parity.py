"""Real neural codecs against transformers 5.24: EnCodec, DAC and Mimi folders built here with
real rates, hops and codebook counts (tiny random weights), run through their own feature
extractors and ``encode``/``decode`` in the same test run.

mmtok's header count (frames × codebooks) must equal the shape of the model's codes, and
``mmtok.discrete.codec_models`` must return the same code ids and the same decoded audio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mmtok.audio.load import load_audio
from mmtok.discrete.audio_codecs import DEFAULTS, AudioCodec, count_codec, read_codec
from mmtok.discrete.codec_models import decode_codes, encode_file, load_codec_model
from tests.media_factory import speechlike, tone, write_compressed_audio, write_sound

transformers = pytest.importorskip("transformers")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

_MIMI_SMALL = dict(
    hidden_size=32, num_filters=4, codebook_dim=16, vector_quantization_hidden_dimension=16,
    num_hidden_layers=1, intermediate_size=32, num_attention_heads=2, num_key_value_heads=2,
    upsample_groups=32,
)  # fmt: skip
_ENCODEC_SMALL = dict(hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_dim=16)
_DAC_SMALL = dict(encoder_hidden_size=4, decoder_hidden_size=16, codebook_dim=4)

# name → (model class, config) with the published models' rates, ratios and codebooks.
MODELS: dict[str, tuple[str, Any]] = {
    "encodec_24khz": ("EncodecModel", lambda t: t.EncodecConfig(**_ENCODEC_SMALL)),
    "encodec_32khz": (  # MusicGen's: 50 Hz, 4 codebooks at 2.2 kbps; here also normalising
        "EncodecModel",
        lambda t: t.EncodecConfig(
            sampling_rate=32_000,
            upsampling_ratios=[8, 5, 4, 4],
            target_bandwidths=[2.2],
            codebook_size=2048,
            normalize=True,
            **_ENCODEC_SMALL,
        ),
    ),
    "dac_44khz": ("DacModel", lambda t: t.DacConfig(sampling_rate=44_100, **_DAC_SMALL)),
    "dac_16khz": (
        "DacModel",
        lambda t: t.DacConfig(
            sampling_rate=16_000, downsampling_ratios=[2, 4, 5, 8], n_codebooks=12, **_DAC_SMALL
        ),
    ),
    "mimi": ("MimiModel", lambda t: t.MimiConfig(num_quantizers=32, **_MIMI_SMALL)),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("codecs")
    out = {}
    for name, (cls, config) in MODELS.items():
        torch.manual_seed(0)
        getattr(transformers, cls)(config(transformers)).save_pretrained(root / name)
        out[name] = root / name
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    voice = speechlike(1.37, 44_100)[:, None]
    return {
        "0.3s-16k.wav": write_sound(d / "a.wav", tone(0.3, 16_000), 16_000),
        "1.37s-44k-stereo.flac": write_sound(d / "b.flac", tone(1.37, 44_100, channels=2), 44_100),
        "mp3": write_compressed_audio(d / "c.mp3", voice, 44_100, "libmp3lame"),
        "opus.webm": write_compressed_audio(d / "d.webm", tone(1.1, 48_000), 48_000, "libopus"),
        "aac.m4a": write_compressed_audio(
            d / "e.m4a", tone(1.37, 44_100, channels=2), 44_100, "aac"
        ),
    }


def _reference_codes(name: str, model: Any, codec: AudioCodec, samples: np.ndarray) -> Any:
    """The model's own pipeline: its feature extractor, then ``encode`` at the same depth."""
    rate = codec.spec.sample_rate
    if name.startswith("dac"):
        fe = transformers.DacFeatureExtractor(sampling_rate=rate, hop_length=codec.spec.hop_length)
        x = fe(samples, sampling_rate=rate, return_tensors="pt")
        return model.encode(x["input_values"], n_quantizers=codec.spec.num_codebooks).audio_codes[0]
    fe = transformers.EncodecFeatureExtractor(feature_size=1, sampling_rate=rate)
    x = fe(raw_audio=samples, sampling_rate=rate, return_tensors="pt")
    if name.startswith("encodec"):
        out = model.encode(x["input_values"], x["padding_mask"], bandwidth=codec.bandwidth)
        return out.audio_codes[0, 0], out.audio_scales
    out = model.encode(x["input_values"], x["padding_mask"], codec.spec.num_codebooks)
    return out.audio_codes[0]


def _reference_model(name: str, folder: Path) -> Any:
    return getattr(transformers, MODELS[name][0]).from_pretrained(folder).eval()


# (model, read_codec options, expected frames per second, codebooks, bitrate) — by hand:
# EnCodec 24 kHz hop 320 = 75 Hz, 6 kbps = ⌊6000 / (10 bits · 75)⌋ = 8 codebooks;
# EnCodec 32 kHz hop 640 = 50 Hz, 2.2 kbps = ⌊2200 / (11 · 50)⌋ = 4;
# DAC 44.1 kHz hop 512 ≈ 86.13 Hz × 9 × 10 bits = 7,752 bps; DAC 16 kHz hop 320 = 50 Hz;
# Mimi 24 kHz hop 960 · 2 = 1920: 12.5 Hz, 32 × 11 bits = 4.4 kbps, Moshi's 8: 1.1 kbps.
SETTINGS = [
    ("encodec_24khz", {}, 75, 2, 1500.0),
    ("encodec_24khz", {"bandwidth": 6.0}, 75, 8, 6000.0),
    ("encodec_24khz", {"codebooks": 32}, 75, 32, 24000.0),
    ("encodec_32khz", {}, 50, 4, 2200.0),
    ("dac_44khz", {}, 44_100 / 512, 9, 44_100 / 512 * 90),
    ("dac_44khz", {"codebooks": 3}, 44_100 / 512, 3, 44_100 / 512 * 30),
    ("dac_16khz", {"codebooks": 12}, 50, 12, 6000.0),
    ("mimi", {}, 12.5, 32, 4400.0),
    ("mimi", {"codebooks": 8}, 12.5, 8, 1100.0),
]


@pytest.mark.parametrize(("name", "options", "fps", "books", "bitrate"), SETTINGS)
def test_rates_by_hand(
    folders: dict[str, Path], name: str, options: dict, fps: float, books: int, bitrate: float
) -> None:
    spec = read_codec(folders[name], **options).spec
    assert float(spec.frame_rate) == pytest.approx(fps)
    assert spec.num_codebooks == books and spec.bitrate == pytest.approx(bitrate)


CLIPS = ["0.3s-16k.wav", "1.37s-44k-stereo.flac", "mp3", "opus.webm", "aac.m4a"]
# Every clip through each model at its default depth; the other depths on one clip.
CASES = [(name, {}, clip) for name in MODELS for clip in CLIPS] + [
    (name, options, "aac.m4a") for name, options, *_ in SETTINGS if options
]


@pytest.fixture(scope="module")
def references(folders: dict[str, Path]) -> dict[str, Any]:
    """The models as transformers loads them, once per module."""
    return {name: _reference_model(name, folder) for name, folder in folders.items()}


@pytest.mark.parametrize(("name", "options", "clip"), CASES)
def test_count_and_codes_equal_the_models_encode(
    folders: dict[str, Path],
    clips: dict[str, Path],
    references: dict[str, Any],
    name: str,
    options: dict,
    clip: str,
) -> None:
    codec = read_codec(folders[name], **options)
    _, count = count_codec(clips[clip], codec)
    samples = load_audio(clips[clip], sample_rate=codec.spec.sample_rate)
    reference = _reference_codes(name, references[name], codec, samples)
    ref_codes = reference[0] if isinstance(reference, tuple) else reference
    assert tuple(ref_codes.shape) == (count.codebooks, count.frames)
    assert count.tokens == ref_codes.numel() and count.num_samples == len(samples)
    encoded = encode_file(load_codec_model(codec), codec, clips[clip])
    assert torch.equal(encoded.codes, ref_codes)
    if isinstance(reference, tuple) and reference[1][0] is not None:  # EnCodec's loudness scale
        torch.testing.assert_close(encoded.scale, reference[1][0][0], rtol=0, atol=0)


@pytest.mark.parametrize("name", list(MODELS))
def test_decode_equals_the_models_decode(
    folders: dict[str, Path], clips: dict[str, Path], references: dict[str, Any], name: str
) -> None:
    codec = read_codec(folders[name])
    ours = load_codec_model(codec)
    encoded = encode_file(ours, codec, clips["0.3s-16k.wav"])
    model = references[name]
    with torch.no_grad():
        if name.startswith("encodec"):
            scale = None if encoded.scale is None else encoded.scale[None]
            ref = model.decode(encoded.codes[None, None], [scale]).audio_values[0, 0]
        elif name.startswith("dac"):
            ref = model.decode(audio_codes=encoded.codes[None]).audio_values[0]
        else:
            ref = model.decode(encoded.codes[None]).audio_values[0, 0]
    wave = decode_codes(ours, codec, encoded)
    # Whole frames are cut to the clip; DAC's odd strides return a few samples fewer.
    assert len(wave) == min(encoded.num_samples, ref.shape[-1])
    np.testing.assert_array_equal(wave, ref[: encoded.num_samples].numpy())


# Long clips cost seconds of CPU each: 30 s exactly, just over, and over a minute, each once.
@pytest.mark.parametrize(
    ("name", "seconds"), [("encodec_24khz", 30.0), ("mimi", 30.05), ("dac_16khz", 61.3)]
)
def test_long_clips_count_what_the_model_encodes(
    folders: dict[str, Path], references: dict[str, Any], tmp_path: Path, name: str, seconds: float
) -> None:
    path = write_sound(tmp_path / "long.wav", tone(seconds, 22_050), 22_050)
    codec = read_codec(folders[name])
    _, count = count_codec(path, codec)
    samples = load_audio(path, sample_rate=codec.spec.sample_rate)
    reference = _reference_codes(name, references[name], codec, samples)
    ref_codes = reference[0] if isinstance(reference, tuple) else reference
    assert tuple(ref_codes.shape) == (count.codebooks, count.frames)


@pytest.mark.parametrize(
    ("family", "config"),
    [
        ("encodec", lambda t: t.EncodecConfig()),
        ("dac", lambda t: t.DacConfig()),
        ("mimi", lambda t: t.MimiConfig()),
    ],
)
def test_defaults_are_transformers_defaults(family: str, config: Callable) -> None:
    reference = config(transformers)
    for key, value in DEFAULTS[family].items():
        got = getattr(reference, key)
        assert (list(got) if isinstance(got, tuple | list) else got) == value, key


def test_mimi_frame_size_matches_transformers(folders: dict[str, Path]) -> None:
    codec = read_codec(folders["mimi"])
    config = transformers.MimiConfig.from_pretrained(folders["mimi"])
    assert codec.spec.hop_length == config.frame_size
    assert float(codec.spec.frame_rate) == config.frame_rate
    assert codec.spec.num_codebooks == config.num_quantizers


@pytest.mark.parametrize("name", list(MODELS))
def test_vocabulary_layouts_take_the_codes(
    folders: dict[str, Path], clips: dict[str, Path], name: str
) -> None:
    """The sequence layouts round-trip the model's codes, and their lengths are what the spec
    counts from the header alone."""
    from mmtok.discrete.codec_spec import (
        delay_pattern,
        frame_major,
        from_frame_major,
        undo_delay_pattern,
    )

    codec = read_codec(folders[name])
    _, count = count_codec(clips["aac.m4a"], codec)
    codes = encode_file(load_codec_model(codec), codec, clips["aac.m4a"]).codes.T  # (T, Q)
    flat, delayed = frame_major(codes), delay_pattern(codes, pad=-1)
    assert torch.equal(from_frame_major(flat, count.codebooks), codes)
    assert torch.equal(undo_delay_pattern(delayed), codes)
    assert len(flat) == codec.spec.sequence_length(count.num_samples, "frame-major")
    assert delayed.numel() == codec.spec.sequence_length(count.num_samples, "delay")
