"""``mmtok density``: what an image, a second of video or of audio costs under a profile."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmtok.budget.density import ModalityDensity, codec_density, compare_density, density_report
from mmtok.cli.app import app
from mmtok.cli.options import ProfileOption, load_profile
from mmtok.cli.render import check_output, console, fail, fail_on, print_json, write_output
from mmtok.errors import MmtokError


def _chart(rows: list[ModalityDensity], path: Path) -> None:
    """Grouped bars of tokens per second (image: per 1024² image) per modality, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = ("text", "image", "audio", "video")
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(rows), 1)
    for i, r in enumerate(rows):
        values = [getattr(r, k) or 0 for k in kinds]
        ax.bar([k + i * width for k in range(len(kinds))], values, width, label=r.profile)
    ax.set_xticks([k + width * (len(rows) - 1) / 2 for k in range(len(kinds))])
    ax.set_xticklabels(["text /s", "image (1024²)", "audio /s", "video /s (720p)"])
    ax.set_yscale("log")
    ax.set_ylabel("tokens")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _compare(names: str, json_out: bool, chart: Path | None) -> None:
    check_output(chart, "--chart")
    profiles = [n.strip() for n in names.split(",") if n.strip()]
    if not profiles:
        fail(f"--compare {names!r}: name at least one profile")
    try:
        rows = compare_density([load_profile(n) for n in profiles])
    except MmtokError as exc:
        fail_on(exc)
    if chart is not None:
        write_output(chart, lambda: _chart(rows, chart))
    if json_out:
        print_json([asdict(r) for r in rows])
        return
    table = Table(
        title="token density per modality",
        caption="text: tokens per second of "
        "read speech (~150 words/min); image: one 1024² image; audio, video: per second",
    )
    for col in ("profile", "text /s", "image", "audio /s", "video /s"):
        table.add_column(col, justify="left" if col == "profile" else "right")
    for r in rows:
        cells = [r.text, r.image, r.audio, r.video]
        table.add_row(r.profile, *("" if v is None else f"{v:,.1f}" for v in cells))
    console.print(table)
    if chart is not None:
        console.print(f"chart: {chart}")


@app.command("density")
def density_command(
    profile: ProfileOption = "qwen2-vl",
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    compare: Annotated[
        str | None,
        typer.Option(help="Comma-separated profiles: the token-density-per-modality table."),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="With --compare: write a bar chart (PNG/SVG/PDF).")
    ] = None,
    codec: Annotated[
        Path | None, typer.Option(help="A codec folder (EnCodec, DAC, Mimi, rvq-codec).")
    ] = None,
    bandwidth: Annotated[float | None, typer.Option(help="Codec: EnCodec kbps.")] = None,
    codebooks: Annotated[int | None, typer.Option(help="Codec: codebooks to use.")] = None,
) -> None:
    """Tokens per image by resolution and per second of video and audio (``--compare``: a
    table per modality for several profiles; ``--codec``: a codec's tokens per second)."""
    if compare is not None:
        _compare(compare, json_out, chart)
        return
    if chart is not None:
        fail("--chart draws the --compare table: give --compare too")
    try:
        if codec is not None:
            from mmtok.discrete.audio_codecs import read_codec

            rows = codec_density(read_codec(codec, bandwidth=bandwidth, codebooks=codebooks))
        else:
            rows = density_report(load_profile(profile))
    except MmtokError as exc:
        fail_on(exc)
    if json_out:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title=f"token density · {codec or profile}")
    for col in ("kind", "input", "tokens", "tokens/s"):
        table.add_column(col, justify="right" if col in ("tokens", "tokens/s") else "left")
    for r in rows:
        rate = f"{r.per_second:,.1f}" if r.per_second is not None else ""
        table.add_row(r.kind, r.what, f"{r.tokens:,}", rate)
    console.print(table)
