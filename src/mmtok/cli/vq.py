"""``mmtok vq-encode`` and ``mmtok vq-decode``: an image to a grid of code ids and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import torch
import typer

from mmtok.cli.app import app
from mmtok.cli.render import console, fail, print_json
from mmtok.discrete.checkpoint import load_model, write_json
from mmtok.errors import MmtokError, RequestError
from mmtok.image.decode import decode_image

Checkpoint = Annotated[
    Path,
    typer.Option("--checkpoint", "-c", help="Folder written by `mmtok train-vq`.", file_okay=False),
]


@app.command("vq-encode")
def vq_encode_command(
    image: Annotated[Path, typer.Argument(help="Image file.", dir_okay=False)],
    checkpoint: Checkpoint,
    out: Annotated[Path | None, typer.Option(help="Write the ids as JSON to this file.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the ids as JSON.")] = False,
    size: Annotated[
        int | None, typer.Option(help="Square side the image is fitted to (default: trained).")
    ] = None,
    canonical: Annotated[
        bool, typer.Option(help="Search for ids that re-encode to themselves after decoding.")
    ] = False,
) -> None:
    """Turn an image into a grid of code ids (centre-cropped to a square first)."""
    try:
        model = load_model(checkpoint, "vq-image")
        ids = model.image_to_ids(decode_image(image), size, canonical=canonical)
    except MmtokError as exc:
        fail(str(exc))
    h, w = ids.shape
    data = {
        "image": str(image),
        "height": h,
        "width": w,
        "codebook_size": model.config.quantizer.codebook_size,
        # whether decoding these ids and encoding the image again gives them back
        "stable": torch.equal(model.reencode(ids[None])[0], ids),
        "ids": ids.tolist(),
    }
    if out is not None:
        write_json(out, data)
    if json_out:
        print_json(data)
    else:
        where = f" → {out}" if out is not None else ""
        stable = "" if data["stable"] else " (not stable under decode → encode)"
        console.print(f"{image}: {h}×{w} = {h * w} ids{where}{stable}", highlight=False)
        if out is None:
            for row in data["ids"]:
                console.print(" ".join(f"{i:>4}" for i in row), highlight=False)


@app.command("vq-decode")
def vq_decode_command(
    ids: Annotated[Path, typer.Argument(help="JSON from `mmtok vq-encode` (or a list of rows).")],
    checkpoint: Checkpoint,
    out: Annotated[Path, typer.Option(help="Image file to write (format from the suffix).")],
) -> None:
    """Turn a grid of code ids back into an image."""
    try:
        model = load_model(checkpoint, "vq-image")
        model.ids_to_image(_read_ids(ids)).save(out)
    except MmtokError as exc:
        fail(str(exc))
    except (OSError, ValueError) as exc:
        fail(f"{out}: cannot write the image ({exc})")
    console.print(f"{ids} → {out}", highlight=False)


def _read_ids(path: Path) -> torch.Tensor:
    """(h, w) int64 from a vq-encode JSON file (its ``ids``) or a bare list of rows."""
    try:
        data = json.loads(path.read_text())
        rows = data["ids"] if isinstance(data, dict) else data
        grid = torch.tensor(rows)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RequestError(f"{path}: not a JSON grid of integer ids ({exc})") from None
    if grid.dtype != torch.int64:
        raise RequestError(f"{path}: ids must be integers")
    return grid
