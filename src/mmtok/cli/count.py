"""``mmtok count``: expanded token counts of media files, from headers only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmtok.cli.app import app
from mmtok.cli.options import MaxPixelsOption, MinPixelsOption, ProfileOption, load_profile
from mmtok.cli.render import console, err_console, fail, fail_on, print_json
from mmtok.count import CountOptions, count_codec_file, count_file, count_vq_file
from mmtok.errors import ConfigError, MmtokError
from mmtok.video.sampling import sampling_for


def _fmt(values: list[int] | None, sep: str = "×") -> str:
    return sep.join(str(v) for v in values) if values else ""


@app.command("count")
def count_command(
    files: Annotated[list[Path], typer.Argument(help="Image, video or audio files.")],
    profile: ProfileOption = "qwen2-vl",
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    min_pixels: MinPixelsOption = None,
    max_pixels: MaxPixelsOption = None,
    sampling: Annotated[
        str | None,
        typer.Option(help="Video sampling: fps|uniform|keyframes|scenes (default: the profile's)."),
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Video frames sampled per second.")] = None,
    max_frames: Annotated[int | None, typer.Option(help="Most video frames to sample.")] = None,
    num_frames: Annotated[int | None, typer.Option(help="Frames for uniform sampling.")] = None,
    max_duration: Annotated[
        float | None, typer.Option(help="Refuse video/audio longer than this many seconds.")
    ] = CountOptions.max_duration,
    limit_pixels: Annotated[
        int, typer.Option(help="Refuse images above this many pixels (decompression bombs).")
    ] = CountOptions.max_pixels or 0,
    bandwidth: Annotated[
        float | None, typer.Option(help="Codec folder: EnCodec bandwidth in kbps.")
    ] = None,
    codebooks: Annotated[
        int | None, typer.Option(help="Codec folder: codebooks to use (depth).")
    ] = None,
) -> None:
    """Count the tokens each file expands to under a profile (or in a neural audio codec:
    ``--profile CODEC_FOLDER``), without decoding it."""
    if _is_codec_folder(profile):
        _count_codec(files, profile, bandwidth, codebooks, json_out, max_duration)
        return
    if _is_vq_folder(profile):
        _count_vq(files, profile, json_out, limit_pixels)
        return
    if bandwidth is not None or codebooks is not None:
        fail("--bandwidth/--codebooks apply to a codec folder (EnCodec, DAC, Mimi, rvq-codec)")
    try:
        prof = load_profile(profile, min_pixels=min_pixels, max_pixels=max_pixels)
        # Bad option values are one usage error before any file is read, not an error per row.
        sampling_for(prof, sampling, fps=fps, num_frames=num_frames, max_frames=max_frames)
        if max_duration is not None and not max_duration > 0:
            raise ConfigError(f"--max-duration {max_duration}: must be a positive number")
        if limit_pixels < 0:
            raise ConfigError(f"--limit-pixels {limit_pixels}: must be positive (0: no limit)")
    except MmtokError as exc:
        fail_on(exc)
    options = CountOptions(
        sampling=sampling,
        fps=fps,
        max_frames=max_frames,
        num_frames=num_frames,
        max_pixels=limit_pixels or None,
        max_duration=max_duration,
    )
    rows = [count_file(f, prof, options) for f in files]
    failed = sum(r.error is not None for r in rows)
    if json_out:
        print_json([r.to_json() for r in rows])
    else:
        table = Table(
            title=f"mmtok count · {prof.name}",
            caption="tokens: the placeholder's expansion · in sequence: + the fences the chat "
            "template writes around it (what plan and density count)",
        )
        table.add_column("path", overflow="fold")
        numeric = ("width", "height", "tokens", "in sequence")
        for col in ("kind", "width", "height", "resized", "grid", "tokens", "in sequence"):
            table.add_column(col, justify="right" if col in numeric else "left")
        for r in rows:
            cells = [
                r.path,
                r.kind or "?",
                str(r.width or ""),
                str(r.height or ""),
                _fmt(r.resized),
                _fmt(r.grid),
                f"{r.tokens:,}" if r.tokens is not None else "[red]error[/]",
                f"{r.sequence_tokens:,}" if r.sequence_tokens is not None else "",
            ]
            table.add_row(*cells)
        total = sum(r.tokens or 0 for r in rows)
        in_sequence = sum(r.sequence_tokens or 0 for r in rows)
        table.add_section()
        ok = f"{len(rows) - failed} ok"
        table.add_row("total", ok, "", "", "", "", f"{total:,}", f"{in_sequence:,}")
        console.print(table)
        for r in rows:  # whole lines under the table: a long name or message stays readable
            if r.error:
                problem = r.error.removeprefix(f"{r.path}: ")
                err_console.print(
                    f"[red]error:[/] {r.path}: {problem}", highlight=False, soft_wrap=True
                )
    if failed:
        raise typer.Exit(1)


_CODEC_TYPES = ("encodec", "dac", "mimi", "rvq-codec")


def _is_codec_folder(profile: str) -> bool:
    """A folder whose ``config.json`` names a codec (``model_type`` or mmtok's ``kind``)."""
    import json

    config = Path(profile) / "config.json"
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and (data.get("model_type") or data.get("kind")) in _CODEC_TYPES


def _count_codec(
    files: list[Path],
    folder: str,
    bandwidth: float | None,
    codebooks: int | None,
    json_out: bool,
    max_duration: float | None,
) -> None:
    from mmtok.discrete.audio_codecs import read_codec

    try:
        codec = read_codec(Path(folder), bandwidth=bandwidth, codebooks=codebooks)
    except MmtokError as exc:
        fail_on(exc)
    options = CountOptions(max_duration=max_duration)
    rows = [count_codec_file(f, codec, options) for f in files]
    if json_out:
        print_json([r.to_json() for r in rows])
    else:
        table = Table(title=f"mmtok count · {codec.family} ({folder})")
        table.add_column("path", overflow="fold")
        for col in ("seconds", "frames", "codebooks", "tokens", "kbps"):
            table.add_column(col, justify="right")
        for r in rows:
            if r.error:
                table.add_row(r.path, "", "", "", "[red]error[/]", "")
                continue
            e = r.extra
            kbps = f"{e['bitrate'] / 1000:.2f}"
            cells = (f"{e['duration']:.2f}", f"{e['frames']:,}", str(e["codebooks"]))
            table.add_row(r.path, *cells, f"{r.tokens:,}", kbps)
        console.print(table)
        for r in rows:
            if r.error:
                err_console.print(f"[red]error:[/] {r.error}", highlight=False, soft_wrap=True)
    if any(r.error for r in rows):
        raise typer.Exit(1)


def _is_vq_folder(profile: str) -> bool:
    """A folder holding a Chameleon / Emu3 / Janus VQ-VAE (the check loads only for folders)."""
    if not Path(profile).is_dir():
        return False
    from mmtok.discrete.families import is_vq_folder

    return is_vq_folder(profile)


def _count_vq(files: list[Path], folder: str, json_out: bool, limit_pixels: int) -> None:
    from mmtok.discrete.families import read_folder

    try:
        vq = read_folder(folder)
    except MmtokError as exc:
        fail_on(exc)
    options = CountOptions(max_pixels=limit_pixels or None)
    rows = [count_vq_file(f, vq, options) for f in files]
    if json_out:
        print_json([r.to_json() for r in rows])
    else:
        table = Table(title=f"mmtok count · {vq.family.name} VQ ({folder})")
        table.add_column("path", overflow="fold")
        for col in ("width", "height", "resized", "grid", "codes", "tokens"):
            table.add_column(col, justify="right")
        for r in rows:
            if r.error:
                table.add_row(r.path, "", "", "", "", "", "[red]error[/]")
                continue
            cells = (str(r.width), str(r.height), _fmt(r.resized), _fmt(r.grid))
            table.add_row(r.path, *cells, f"{r.feature_tokens:,}", f"{r.tokens:,}")
        console.print(table)
        for r in rows:
            if r.error:
                err_console.print(f"[red]error:[/] {r.error}", highlight=False, soft_wrap=True)
    if any(r.error for r in rows):
        raise typer.Exit(1)
