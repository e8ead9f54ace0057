"""``mmtok demo``: the main job on built-in sample media, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmtok.cli.app import app
from mmtok.cli.render import console
from mmtok.count import count_file
from mmtok.profiles import PROFILES
from mmtok.samples import write_samples


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the generated samples.")] = Path(
        "mmtok-demo"
    ),
) -> None:
    """Write the sample media, then count them under every built-in profile."""
    paths = write_samples(out)
    console.print(f"[bold]Sample media written to {out}/[/]")
    for name, profile in PROFILES.items():
        rows = [count_file(p, profile) for p in paths]
        cells = []
        for p, r in zip(paths, rows, strict=True):
            cells.append(f"{p.name} {r.tokens:,}" if r.error is None else f"{p.name} –")
        total = sum(r.tokens or 0 for r in rows)
        console.print(f"[cyan]{name:11s}[/] " + " · ".join(cells) + f"  [bold]= {total:,}[/]")
    console.print(f"Next: mmtok count --profile qwen2-vl {out}/*  (add --json for scripts)")
