"""Running a codec: load its weights (safetensors, local files only), audio → codes → audio.

The input is prepared as each family's own feature extractor does — mono float32 at the
codec's rate; DAC zero-pads to a multiple of its hop — so the codes equal what transformers'
``encode`` returns for the same samples. Codes are ``(codebooks, frames)`` int64 for every
codec; mmtok's own RVQ codec works in ``(frames, codebooks)`` and is transposed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor

from mmtok.audio.load import load_audio
from mmtok.discrete.audio_codecs import AudioCodec
from mmtok.errors import ConfigError, RequestError
from mmtok.media.source import Source

# model_type → the transformers class that holds it.
_CLASSES = {"encodec": "EncodecModel", "dac": "DacModel", "mimi": "MimiModel"}


@dataclass(frozen=True)
class Encoded:
    """One clip's codes ``(Q, T)`` int64, its length in samples at the codec's rate, and
    EnCodec's per-clip loudness ``scale`` when its config normalises (else ``None``)."""

    codes: Tensor
    num_samples: int
    scale: Tensor | None = None


def load_codec_model(codec: AudioCodec) -> Any:
    """The codec's model in eval mode, from ``codec.folder``'s safetensors (never pickle,
    never the network); a folder whose weights do not load raises :class:`ConfigError`."""
    if codec.family == "rvq-codec":
        from mmtok.discrete.checkpoint import load_model

        return load_model(codec.folder, "rvq-codec")
    import transformers

    cls = getattr(transformers, _CLASSES[codec.family])
    try:
        model = cls.from_pretrained(codec.folder, local_files_only=True, use_safetensors=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"{codec.folder}: cannot load the {cls.__name__} ({exc})") from None
    return model.eval()


@torch.no_grad()
def encode_samples(model: Any, codec: AudioCodec, samples: np.ndarray) -> Encoded:
    """Mono ``(N,)`` float32 samples at the codec's rate → codes ``(Q, T)``,
    ``T = ⌈N / hop⌉``."""
    n = len(samples)
    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, None]
    if codec.family == "encodec":
        out = model.encode(wave, bandwidth=codec.bandwidth)
        scale = out.audio_scales[0]
        return Encoded(out.audio_codes[0, 0], n, None if scale is None else scale[0])
    if codec.family == "dac":
        wave = torch.nn.functional.pad(wave, (0, -n % codec.spec.hop_length))
        return Encoded(model.encode(wave, n_quantizers=codec.spec.num_codebooks).audio_codes[0], n)
    if codec.family == "mimi":
        codes = model.encode(wave, num_quantizers=codec.spec.num_codebooks).audio_codes[0]
        return Encoded(codes, n)
    codes = model.encode(wave[0])[0, :, : codec.spec.num_codebooks]  # (T, Q)
    return Encoded(codes.T.contiguous(), n)


def encode_file(
    model: Any, codec: AudioCodec, source: Source, *, max_duration: float | None = None
) -> Encoded:
    """Decode ``source`` to mono at the codec's rate and encode it."""
    samples = load_audio(source, sample_rate=codec.spec.sample_rate, max_duration=max_duration)
    return encode_samples(model, codec, samples)


@torch.no_grad()
def decode_codes(model: Any, codec: AudioCodec, encoded: Encoded) -> np.ndarray:
    """Codes ``(Q, T)`` → mono float32 samples at the codec's rate: what the decoder returns
    (whole frames; DAC's odd strides lose a few), cut to the clip's ``num_samples``."""
    codes, high, size = encoded.codes, codec.max_codebooks, codec.spec.codebook_size
    if codes.ndim != 2 or not 1 <= codes.shape[0] <= high or codes.shape[1] < 1:
        raise RequestError(
            f"codes of shape {tuple(codes.shape)}: need (1..{high} codebooks, frames)"
        )
    if codes.dtype != torch.int64 or int(codes.min()) < 0 or int(codes.max()) >= size:
        raise RequestError(f"codes must be int64 ids in 0..{size - 1}")
    if codec.family == "encodec":
        scale = None if encoded.scale is None else encoded.scale[None]
        wave = model.decode(codes[None, None], [scale]).audio_values[0, 0]
    elif codec.family == "dac":
        wave = model.decode(audio_codes=codes[None]).audio_values[0]
    elif codec.family == "mimi":
        wave = model.decode(codes[None]).audio_values[0, 0]
    else:
        wave = model.decode(codes.T[None])[0]
    return wave[: encoded.num_samples].numpy().astype(np.float32)


def write_codes(path: Path, codec: AudioCodec, encoded: Encoded) -> None:
    """Safetensors with tensor ``codes`` ``(Q, T)`` int64 (and ``scale`` for normalising
    EnCodec); metadata records the family, rate and clip length that decoding needs."""
    tensors = {"codes": encoded.codes.contiguous()}
    if encoded.scale is not None:
        tensors["scale"] = encoded.scale.contiguous()
    meta = {
        "family": codec.family,
        "sample_rate": str(codec.spec.sample_rate),
        "num_samples": str(encoded.num_samples),
    }
    save_file(tensors, str(path), metadata=meta)


def read_codes(path: Path, codec: AudioCodec) -> Encoded:
    """Codes written by :func:`write_codes` for ``codec``'s family; anything else raises
    :class:`RequestError` naming the file."""
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise RequestError(f"{path}: not a readable safetensors file ({exc})") from None
    if "codes" not in tensors:
        raise RequestError(f"{path}: no tensor 'codes'")
    family = meta.get("family", codec.family)
    if family != codec.family:
        raise RequestError(f"{path}: codes of a {family} codec, not {codec.family}")
    codes = tensors["codes"]
    try:
        num_samples = int(meta["num_samples"])
    except (KeyError, ValueError):  # bare codes: every frame is whole
        num_samples = codes.shape[-1] * codec.spec.hop_length
    return Encoded(codes, num_samples, tensors.get("scale"))
