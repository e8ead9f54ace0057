"""``mmtok codec count|encode|decode``: discrete audio tokens of a neural codec model folder.

The folder holds a transformers ``EncodecModel``, ``DacModel`` or ``MimiModel`` (config.json +
safetensors) or an mmtok ``train-codec`` checkpoint. ``count`` reads headers only (no torch);
``encode`` writes ``codes`` ``(codebooks, frames)`` to safetensors and checks it against the
count; ``decode`` writes the audio back. Exit 1 for a bad input file, 2 for bad options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from mmtok.cli.app import app
from mmtok.cli.render import console, fail, fail_on, print_json
from mmtok.discrete.audio_codecs import AudioCodec, CodecCount, count_codec, read_codec
from mmtok.errors import MediaError, MmtokError

codec_app = typer.Typer(
    help="Neural audio codecs (EnCodec, DAC, Mimi, mmtok RVQ): count, encode, decode.",
    no_args_is_help=True,
)
app.add_typer(codec_app, name="codec")

Folder = Annotated[
    Path, typer.Argument(help="Codec model folder (config.json + safetensors).", file_okay=False)
]
Bandwidth = Annotated[
    float | None, typer.Option(help="EnCodec bandwidth, kbps (one of its target bandwidths).")
]
Codebooks = Annotated[int | None, typer.Option(help="Codebooks to use (default: the model's).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(exc: MmtokError) -> NoReturn:
    fail_on(exc)
    raise AssertionError  # fail exits


def _row(name: str, codec: AudioCodec, count: CodecCount) -> dict[str, Any]:
    return {
        "file": name,
        "codec": codec.family,
        "seconds": count.num_samples / codec.spec.sample_rate,
        "sample_rate": codec.spec.sample_rate,
        "frames": count.frames,
        "codebooks": count.codebooks,
        "tokens": count.tokens,
        "frame_rate": float(codec.spec.frame_rate),
        "tokens_per_second": count.tokens_per_second,
        "bitrate": count.bitrate,
    }


@codec_app.command("count")
def count_command(
    folder: Folder,
    files: Annotated[list[Path], typer.Argument(help="Audio (or video) files.")],
    bandwidth: Bandwidth = None,
    codebooks: Codebooks = None,
    json_out: JsonOut = False,
) -> None:
    """Frames, codebooks and tokens (= frames × codebooks) of each file, from headers."""
    try:
        codec = read_codec(folder, bandwidth=bandwidth, codebooks=codebooks)
        rows = [_row(str(f), codec, count_codec(f, codec)[1]) for f in files]
    except MmtokError as exc:
        _fail(exc)
    if json_out:
        print_json(rows)
        return
    table = Table("file", "seconds", "frames", "codebooks", "tokens", "bitrate")
    for r in rows:
        table.add_row(
            r["file"], f"{r['seconds']:.3f}", str(r["frames"]), str(r["codebooks"]),
            str(r["tokens"]), f"{r['bitrate'] / 1000:.2f} kbps",
        )  # fmt: skip
    console.print(table)


@codec_app.command("encode")
def encode_command(
    folder: Folder,
    clip: Annotated[Path, typer.Argument(help="Audio (or video) file.", dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="codes.safetensors to write.")],
    bandwidth: Bandwidth = None,
    codebooks: Codebooks = None,
    json_out: JsonOut = False,
) -> None:
    """Encode a clip to ``codes`` ``(codebooks, frames)`` with the model's own encoder."""
    from mmtok.discrete.codec_models import encode_file, load_codec_model, write_codes

    try:
        codec = read_codec(folder, bandwidth=bandwidth, codebooks=codebooks)
        _, count = count_codec(clip, codec)
        _quiet_transformers(codec)
        encoded = encode_file(load_codec_model(codec), codec, clip)
        if tuple(encoded.codes.shape) != (count.codebooks, count.frames):
            raise MediaError(
                clip,
                f"encoded {tuple(encoded.codes.shape)} codes but the header counted "
                f"({count.codebooks}, {count.frames})",
            )
        write_codes(out, codec, encoded)
    except MmtokError as exc:
        _fail(exc)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc})", 1)
    row = {**_row(str(clip), codec, count), "out": str(out)}
    if json_out:
        print_json(row)
    else:
        console.print(
            f"{clip}: {count.codebooks} codebooks × {count.frames} frames = {count.tokens} "
            f"tokens ({count.bitrate / 1000:.2f} kbps) → {out}",
            highlight=False,
        )


@codec_app.command("decode")
def decode_command(
    folder: Folder,
    codes: Annotated[Path, typer.Argument(help="codes.safetensors from `mmtok codec encode`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Audio file (.wav, .flac).")],
) -> None:
    """Decode codes back to audio at the codec's sample rate."""
    import soundfile as sf

    from mmtok.discrete.codec_models import decode_codes, load_codec_model, read_codes

    try:
        codec = read_codec(folder)
        encoded = read_codes(codes, codec)
        _quiet_transformers(codec)
        wave = decode_codes(load_codec_model(codec), codec, encoded)
        sf.write(str(out), wave, codec.spec.sample_rate)
    except MmtokError as exc:
        _fail(exc)
    except (OSError, sf.LibsndfileError, TypeError, ValueError) as exc:
        fail(f"{out}: cannot write the audio ({exc})", 1)
    console.print(
        f"{codes}: {tuple(encoded.codes.shape)} codes → {out} "
        f"({len(wave) / codec.spec.sample_rate:.3f} s at {codec.spec.sample_rate} Hz)",
        highlight=False,
    )


def _quiet_transformers(codec: AudioCodec) -> None:
    """No weight-loading progress bars on the terminal (mmtok's own codec has none)."""
    if codec.family == "rvq-codec":
        return
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
