"""``mmtok compress`` and ``mmtok compress-eval``: see what a compression method keeps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import track
from rich.table import Table

from mmtok.cli.app import app
from mmtok.cli.render import (
    check_output,
    console,
    err_console,
    fail,
    fail_on,
    print_json,
    write_output,
)
from mmtok.errors import ConfigError, MediaError, MmtokError
from mmtok.image.decode import decode_image

if TYPE_CHECKING:  # mmtok.compress imports torch: loaded only when a command runs
    from mmtok.compress.tower import PixelTower, VisionTower

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")

TowerOption = Annotated[
    Path | None,
    typer.Option(help="Local HF folder (CLIP, SigLIP, Qwen2-VL); without it, raw pixel patches."),
]
PatchOption = Annotated[int, typer.Option(help="Patch side in pixels when no tower is given.")]
MaxSideOption = Annotated[int, typer.Option(help="Longest image side for raw pixel patches.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _tower(folder: Path | None, patch_size: int, max_side: int) -> VisionTower | PixelTower:
    from mmtok.compress.tower import PixelTower, load_vision_tower

    return load_vision_tower(folder) if folder else PixelTower(patch_size, max_side)


def _ints(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise ConfigError(f"{option} {text!r}: expected positive integers")
    return values


def _methods(text: str, option: str = "--methods") -> list[str]:
    from mmtok.compress.methods import KEEP_METHODS

    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in KEEP_METHODS]
    if unknown or not methods:
        raise ConfigError(f"{option} {text!r}: choose from {', '.join(KEEP_METHODS)}")
    return methods


@app.command("compress")
def compress_command(
    image: Annotated[Path, typer.Argument(help="Image file.")],
    method: Annotated[str, typer.Option(help="tome | prune | pool | qformer | perceiver.")] = (
        "tome"
    ),
    keep: Annotated[int, typer.Option(help="Tokens to keep (pool: at most this many).")] = 64,
    overlay: Annotated[Path | None, typer.Option(help="Write the patch overlay PNG here.")] = (
        None
    ),
    vision_tower: TowerOption = None,
    patch_size: PatchOption = 14,
    max_side: MaxSideOption = 448,
    json_out: JsonOption = False,
) -> None:
    """Compress one image's patch tokens and show which were merged or pruned."""
    from mmtok.compress import TokenSet, compress_to
    from mmtok.compress.evaluate import quality
    from mmtok.compress.visual import draw_overlay

    check_output(overlay, "--overlay")
    try:
        _methods(method, "--method")
        picture = decode_image(image)
        tower = _tower(vision_tower, patch_size, max_side)
        features, grid = tower.encode_image(picture)
        tokens = TokenSet.from_grid(features.float(), grid)
        result = compress_to(tokens, method, keep)
    except MmtokError as exc:
        fail_on(exc)
    kept = float(quality(tokens, result)[0])
    owner = result.owner()[0]
    if overlay:
        write_output(overlay, lambda: draw_overlay(picture, owner, grid).save(overlay))
    report = {
        "image": str(image),
        "method": method,
        "features": tower.name,
        "identity": tower.identity,
        "grid": list(grid),
        "tokens_in": tokens.n,
        "tokens_out": result.n_tokens,
        "pruned": int((owner < 0).sum()),
        "largest_group": int(owner[owner >= 0].bincount().max()) if (owner >= 0).any() else 0,
        "quality": round(kept, 6),
        "overlay": str(overlay) if overlay else None,
    }
    if json_out:
        print_json(report)
        return
    table = Table(title=f"mmtok compress · {method}", show_header=False)
    for key, value in report.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command("compress-eval")
def compress_eval_command(
    folder: Annotated[Path, typer.Argument(help="Folder of images.")],
    methods: Annotated[str, typer.Option(help="Comma-separated methods.")] = "tome,prune,pool",
    keep: Annotated[str, typer.Option(help="Comma-separated token counts.")] = "16,64,256",
    chart: Annotated[Path | None, typer.Option(help="Write quality-vs-tokens PNG here.")] = None,
    vision_tower: TowerOption = None,
    patch_size: PatchOption = 14,
    max_side: MaxSideOption = 448,
    json_out: JsonOption = False,
) -> None:
    """Measure how much of the patch features each method keeps at each token count."""
    from mmtok.compress import evaluate_features, summarise
    from mmtok.compress.visual import quality_chart

    check_output(chart, "--chart")
    try:
        chosen, keeps = _methods(methods), _ints(keep, "--keep")
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a folder")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ConfigError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        tower = _tower(vision_tower, patch_size, max_side)
    except MmtokError as exc:
        fail_on(exc)
    rows, evaluated = [], 0
    for path in track(files, description="evaluating", console=err_console):
        try:
            features, grid = tower.encode_image(decode_image(path))
        except MediaError as exc:
            err_console.print(f"[yellow]skipped[/] {exc}", highlight=False, soft_wrap=True)
            continue
        evaluated += 1
        rows += evaluate_features(features, grid, chosen, keeps)
    summary = summarise(rows)
    if not summary:
        fail(f"{folder}: no image could be evaluated at counts {keeps}", 1)
    for keep in keeps:  # an image with fewer tokens than a count has nothing to compress
        done = max((r.images for r in summary if r.keep == keep), default=0)
        if done < evaluated:
            err_console.print(
                f"[yellow]note:[/] --keep {keep}: {evaluated - done} of {evaluated} image(s) "
                f"have fewer than {keep} tokens and were left out of that count",
                highlight=False,
                soft_wrap=True,
            )
    if chart:
        title = f"{folder.name} · {tower.name}"
        write_output(chart, lambda: quality_chart(summary, chart, title=title))
    if json_out:
        print_json([row.__dict__ for row in summary])
        return
    table = Table(title=f"mmtok compress-eval · {folder} · {tower.name}")
    for column in ("method", "keep", "tokens", "quality", "images"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in summary:
        table.add_row(
            row.method, str(row.keep), f"{row.tokens:.0f}", f"{row.quality:.4f}", str(row.images)
        )
    console.print(table)
