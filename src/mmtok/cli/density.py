"""``mmtok density``: what an image, a second of video or of audio costs under a profile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from mmtok.budget.density import density_report
from mmtok.cli.app import app
from mmtok.cli.options import ProfileOption, load_profile
from mmtok.cli.render import console, fail, print_json
from mmtok.errors import MmtokError


@app.command("density")
def density_command(
    profile: ProfileOption = "qwen2-vl",
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Tokens per image by resolution and per second of video and audio."""
    try:
        rows = density_report(load_profile(profile))
    except MmtokError as exc:
        fail(str(exc))
    if json_out:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title=f"token density · {profile}")
    for col in ("kind", "input", "tokens", "tokens/s"):
        table.add_column(col, justify="right" if col in ("tokens", "tokens/s") else "left")
    for r in rows:
        rate = f"{r.per_second:,.1f}" if r.per_second is not None else ""
        table.add_row(r.kind, r.what, f"{r.tokens:,}", rate)
    console.print(table)
