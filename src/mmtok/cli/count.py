"""``mmtok count``: expanded token counts of media files, from headers only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmtok.cli.app import app
from mmtok.cli.options import MaxPixelsOption, MinPixelsOption, ProfileOption, load_profile
from mmtok.cli.render import console, fail, print_json
from mmtok.count import CountOptions, count_file
from mmtok.errors import MmtokError


def _fmt(values: list[int] | None, sep: str = "×") -> str:
    return sep.join(str(v) for v in values) if values else ""


@app.command("count")
def count_command(
    files: Annotated[list[Path], typer.Argument(help="Image, video or audio files.")],
    profile: ProfileOption = "qwen2-vl",
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    min_pixels: MinPixelsOption = None,
    max_pixels: MaxPixelsOption = None,
    sampling: Annotated[str, typer.Option(help="Video sampling: fps|uniform|keyframes|scenes.")] = (
        "fps"
    ),
    fps: Annotated[float | None, typer.Option(help="Video frames sampled per second.")] = None,
    max_frames: Annotated[int | None, typer.Option(help="Most video frames to sample.")] = None,
    num_frames: Annotated[int | None, typer.Option(help="Frames for uniform sampling.")] = None,
    max_duration: Annotated[
        float | None, typer.Option(help="Refuse video/audio longer than this many seconds.")
    ] = CountOptions.max_duration,
    limit_pixels: Annotated[
        int, typer.Option(help="Refuse images above this many pixels (decompression bombs).")
    ] = CountOptions.max_pixels or 0,
) -> None:
    """Count the tokens each file expands to under a profile, without decoding it."""
    try:
        prof = load_profile(profile, min_pixels=min_pixels, max_pixels=max_pixels)
    except MmtokError as exc:
        fail(str(exc))
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
        table = Table(title=f"mmtok count · {prof.name}")
        table.add_column("path", overflow="fold")
        for col in ("kind", "width", "height", "resized", "grid", "tokens"):
            table.add_column(
                col, justify="right" if col in ("width", "height", "tokens") else "left"
            )
        if failed:
            table.add_column("error", style="red", overflow="fold")
        for r in rows:
            cells = [
                r.path,
                r.kind or "?",
                str(r.width or ""),
                str(r.height or ""),
                _fmt(r.resized),
                _fmt(r.grid),
                f"{r.tokens:,}" if r.tokens is not None else "",
            ]
            problem = (r.error or "").removeprefix(f"{r.path}: ")
            table.add_row(*cells, *([problem] if failed else []))
        total = sum(r.tokens or 0 for r in rows)
        table.add_section()
        extra = [f"{failed} failed"] if failed else []
        table.add_row("total", f"{len(rows) - failed} ok", "", "", "", "", f"{total:,}", *extra)
        console.print(table)
    if failed:
        raise typer.Exit(1)
