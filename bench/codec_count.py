"""Claim: counting a neural codec's tokens from the header is far cheaper than encoding.

``count_codec`` (probe + packets + ⌈N / hop⌉ × codebooks, no torch) vs ``encode_file``
(decode, resample, run the codec's encoder and RVQ) for EnCodec 24 kHz (6 kbps), DAC
44.1 kHz and Mimi at their published sizes, random weights (saved with ``save_pretrained``
here; nothing is downloaded), on 10 s of 44.1 kHz stereo AAC (.m4a). Both give the same
``(codebooks, frames)``, checked before timing.

Medians of ``--runs``, interleaved. Run: ``.venv/bin/python -m bench.codec_count [--runs 5]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from tests.media_factory import speechlike, write_compressed_audio

from bench.video_sampling import median_times
from mmtok.discrete.audio_codecs import count_codec, read_codec
from mmtok.discrete.codec_models import encode_file, load_codec_model

CODECS = {  # name → (transformers class, config class, config kwargs, read_codec options)
    "encodec_24khz": ("EncodecModel", "EncodecConfig", {}, {"bandwidth": 6.0}),
    "dac_44khz": ("DacModel", "DacConfig", {"sampling_rate": 44_100}, {}),
    "mimi": ("MimiModel", "MimiConfig", {}, {}),
}


def main() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = write_compressed_audio(
            root / "clip.m4a", speechlike(args.seconds, 44_100)[:, None].repeat(2, 1), 44_100, "aac"
        )
        for name, (model_cls, config_cls, kwargs, options) in CODECS.items():
            torch.manual_seed(0)
            config = getattr(transformers, config_cls)(**kwargs)
            getattr(transformers, model_cls)(config).save_pretrained(root / name)
            codec = read_codec(root / name, **options)
            model = load_codec_model(codec)
            count = count_codec(clip, codec)[1]
            shape = tuple(encode_file(model, codec, clip).codes.shape)
            assert shape == (count.codebooks, count.frames), (name, shape, count)
            times = median_times(
                {
                    "count (header)": lambda c=codec: count_codec(clip, c),
                    "encode": lambda c=codec, m=model: encode_file(m, c, clip),
                },
                args.runs,
            )
            (cw, cc), (ew, ec) = times["count (header)"], times["encode"]
            print(
                f"{name}: {count.codebooks}×{count.frames} = {count.tokens} tokens · "
                f"count {cw * 1e3:.2f} ms wall / {cc * 1e3:.2f} ms CPU · "
                f"encode {ew * 1e3:.0f} ms wall / {ec * 1e3:.0f} ms CPU · "
                f"ratio {ew / cw:,.0f}× wall, {ec / cc:,.0f}× CPU"
            )


if __name__ == "__main__":
    main()
