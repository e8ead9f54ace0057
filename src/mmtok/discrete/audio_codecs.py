"""Which neural audio codec a model folder holds, at which depth, and what it emits — no torch.

A transformers ``EncodecModel``, ``DacModel`` or ``MimiModel`` folder (``config.json`` +
safetensors) or an mmtok RVQ checkpoint becomes an :class:`AudioCodec`: its
:class:`~mmtok.discrete.codec_spec.CodecSpec` at the chosen number of codebooks. Each family
emits ``⌈N / hop⌉`` frames for N samples at its rate (every encoder convolution pads to a
whole stride; DAC's feature extractor pads to a multiple of the hop first):

- EnCodec: hop = ∏ ``upsampling_ratios``; a bandwidth of B kbps uses
  ``max(1, ⌊1000·B / (log2 K · ⌈rate / hop⌉)⌋)`` codebooks, by default the smallest bandwidth.
- DAC: hop = ∏ ``downsampling_ratios``; ``n_codebooks`` unless fewer are asked for.
- Mimi: hop = ∏ ``upsampling_ratios`` × the latent stride (``⌈rate / ∏⌉ / frame_rate``,
  2 for 12.5 Hz); all ``num_quantizers`` unless fewer (never below the semantic ones).

Counting a file (:func:`count_codec`) needs only its header, or its packets where the
header cannot tell (:func:`mmtok.audio.plan.planned_samples`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from mmtok.audio.plan import planned_samples
from mmtok.audio.probe import probe_audio
from mmtok.discrete.codec_spec import CodecSpec
from mmtok.errors import ConfigError
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source

Family = Literal["encodec", "dac", "mimi", "rvq-codec"]

CONFIG_FILE = "config.json"

# transformers 5.24's config defaults, used when config.json leaves a key out (saved
# configs write every key; tests/parity checks this table against the config classes).
DEFAULTS: dict[str, dict[str, Any]] = {
    "encodec": {
        "sampling_rate": 24_000,
        "upsampling_ratios": [8, 5, 4, 2],
        "codebook_size": 1024,
        "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
        "audio_channels": 1,
        "chunk_length_s": None,
    },
    "dac": {
        "sampling_rate": 16_000,
        "downsampling_ratios": [2, 4, 8, 8],
        "n_codebooks": 9,
        "codebook_size": 1024,
    },
    "mimi": {
        "sampling_rate": 24_000,
        "upsampling_ratios": [8, 6, 5, 4],
        "codebook_size": 2048,
        "num_quantizers": 32,
        "num_semantic_quantizers": 1,
        "audio_channels": 1,
    },
}


@dataclass(frozen=True)
class AudioCodec:
    """One codec at one depth: ``spec`` counts its tokens; ``bandwidth`` (kbps) is what
    EnCodec's ``encode`` takes, ``None`` for the others."""

    folder: Path
    family: Family
    spec: CodecSpec
    bandwidth: float | None = None
    max_codebooks: int = 0  # the most codebooks the model has


@dataclass(frozen=True)
class CodecCount:
    """What one audio input costs in a codec: ``tokens = frames × codebooks``."""

    num_samples: int  # at the codec's rate
    frames: int
    codebooks: int
    tokens: int
    bitrate: float  # bits per second
    tokens_per_second: float


def _config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{folder}: not a codec folder (no {CONFIG_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _int(data: dict[str, Any], family: str, key: str, path: Path) -> int:
    """``data[key]`` (else transformers' default), a positive integer."""
    value = data.get(key, DEFAULTS[family][key])
    if not (_positive(value) and isinstance(value, int)):
        raise ConfigError(f"{path}: {key!r} must be a positive integer, got {value!r}")
    return value


def _list(data: dict[str, Any], family: str, key: str, path: Path, kind: type) -> list[Any]:
    """``data[key]`` (else the default, also for ``null``), a non-empty list of positive
    ``kind`` (``int``, or ``float`` for any number)."""
    value = data.get(key) or DEFAULTS[family][key]
    if not (
        isinstance(value, list)
        and value
        and all(_positive(v) and isinstance(v, kind | int) for v in value)
    ):
        raise ConfigError(f"{path}: {key!r} must be a list of positive {kind.__name__}s, "
                          f"got {value!r}")  # fmt: skip
    return value


def encodec_codebooks(bandwidth: float, rate: int, hop: int, codebook_size: int) -> int:
    """Codebooks EnCodec uses at ``bandwidth`` kbps: ``max(1, ⌊1000·B / (log2 K · fps)⌋)``
    with its integer frame rate ``fps = ⌈rate / hop⌉``."""
    per_codebook = math.log2(codebook_size) * -(-rate // hop)
    return max(1, math.floor(bandwidth * 1000 / per_codebook))


def _depth(folder: Path, asked: int | None, low: int, high: int) -> int:
    if asked is None:
        return high
    if not low <= asked <= high:
        raise ConfigError(f"{folder}: --codebooks {asked} outside {low}..{high} for this codec")
    return asked


def _encodec(folder: Path, data: dict[str, Any], bandwidth: float | None, codebooks: int | None):
    path = folder / CONFIG_FILE
    for key, want in (("chunk_length_s", None), ("audio_channels", 1)):
        if data.get(key, DEFAULTS["encodec"][key]) != want:
            raise ConfigError(
                f"{path}: {key!r} = {data[key]!r} (chunked or stereo EnCodec, the 48 kHz "
                "model) is not supported"
            )
    rate = _int(data, "encodec", "sampling_rate", path)
    hop = math.prod(_list(data, "encodec", "upsampling_ratios", path, int))
    size = _int(data, "encodec", "codebook_size", path)
    bandwidths = [float(b) for b in _list(data, "encodec", "target_bandwidths", path, float)]
    depths = {b: encodec_codebooks(b, rate, hop, size) for b in bandwidths}
    if bandwidth is None and codebooks is not None:
        matches = [b for b, q in depths.items() if q == codebooks]
        if not matches:
            raise ConfigError(
                f"{folder}: EnCodec takes a bandwidth; --codebooks {codebooks} is none of "
                f"{sorted(set(depths.values()))}"
            )
        bandwidth = matches[0]
    elif bandwidth is None:
        bandwidth = bandwidths[0]  # EnCodec's own default: its smallest bandwidth
    elif codebooks is not None:
        raise ConfigError(f"{folder}: give --bandwidth or --codebooks, not both")
    if bandwidth not in depths:
        raise ConfigError(f"{folder}: --bandwidth {bandwidth} is none of {bandwidths} kbps")
    spec = CodecSpec("encodec", rate, hop, depths[bandwidth], size)
    return spec, bandwidth, max(depths.values())


def _dac(folder: Path, data: dict[str, Any], codebooks: int | None):
    path = folder / CONFIG_FILE
    rate = _int(data, "dac", "sampling_rate", path)
    hop = math.prod(_list(data, "dac", "downsampling_ratios", path, int))
    size = _int(data, "dac", "codebook_size", path)
    high = _int(data, "dac", "n_codebooks", path)
    return CodecSpec("dac", rate, hop, _depth(folder, codebooks, 1, high), size), None, high


def _mimi(folder: Path, data: dict[str, Any], codebooks: int | None):
    path = folder / CONFIG_FILE
    if data.get("audio_channels", 1) != 1:
        raise ConfigError(f"{path}: 'audio_channels' = {data['audio_channels']!r}, need 1")
    rate = _int(data, "mimi", "sampling_rate", path)
    seanet = math.prod(_list(data, "mimi", "upsampling_ratios", path, int))
    encodec_rate = -(-rate // seanet)
    # An explicit frame_rate (older configs) wins; else the encoder halves the SEANet rate.
    explicit = data.get("frame_rate")
    if explicit is not None and not _positive(explicit):
        raise ConfigError(f"{path}: 'frame_rate' must be a positive number, got {explicit!r}")
    frame_rate = Fraction(explicit) if explicit else Fraction(rate, seanet * 2)
    stride = 1 if frame_rate == encodec_rate else int(encodec_rate / frame_rate)
    size = _int(data, "mimi", "codebook_size", path)
    high = _int(data, "mimi", "num_quantizers", path)
    low = _int(data, "mimi", "num_semantic_quantizers", path)
    spec = CodecSpec("mimi", rate, seanet * stride, _depth(folder, codebooks, low, high), size)
    return spec, None, high


def read_codec(
    folder: Path, *, bandwidth: float | None = None, codebooks: int | None = None
) -> AudioCodec:
    """The codec in ``folder`` at ``bandwidth`` kbps (EnCodec) or ``codebooks`` deep.

    Raises :class:`ConfigError` naming the file and key for a folder that is not one of the
    three transformers codecs or an mmtok ``rvq-codec`` checkpoint, or a depth it lacks.
    """
    folder = Path(folder)
    data = _config(folder)
    family = data.get("model_type") or data.get("kind")
    if family != "encodec" and bandwidth is not None:
        raise ConfigError(f"{folder}: --bandwidth applies to EnCodec; use --codebooks")
    if family == "encodec":
        spec, bandwidth, high = _encodec(folder, data, bandwidth, codebooks)
    elif family == "dac":
        spec, bandwidth, high = _dac(folder, data, codebooks)
    elif family == "mimi":
        spec, bandwidth, high = _mimi(folder, data, codebooks)
    elif family == "rvq-codec":
        from mmtok.discrete.checkpoint import load_config  # the config classes import torch

        full = load_config(folder)[1].spec
        high = full.num_codebooks
        spec = full.with_codebooks(_depth(folder, codebooks, 1, high))
    else:
        raise ConfigError(
            f"{folder / CONFIG_FILE}: 'model_type' {family!r} is not an audio codec "
            "(encodec, dac, mimi, or an mmtok rvq-codec checkpoint)"
        )
    return AudioCodec(folder, family, spec, bandwidth, high)


def codec_count(num_samples: int, spec: CodecSpec) -> CodecCount:
    """Frames, codebooks and tokens of ``num_samples`` samples at ``spec``'s rate."""
    frames = spec.num_frames(num_samples)
    return CodecCount(
        num_samples,
        frames,
        spec.num_codebooks,
        spec.num_tokens(num_samples),
        spec.bitrate,
        float(spec.tokens_per_second),
    )


def count_codec(
    source: Source, codec: AudioCodec, *, info: MediaInfo | None = None
) -> tuple[MediaInfo, CodecCount]:
    """Probe ``source`` and count its codec tokens, without decoding it."""
    info = info if info is not None else probe_audio(source)
    samples = planned_samples(source, info, codec.spec.sample_rate)
    return info, codec_count(samples, codec.spec)
