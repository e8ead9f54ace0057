"""``mmtok vq encode|decode|stats`` for Chameleon, Emu3, Janus and mmtok's own VQ folders, and
``mmtok vq-encode``/``vq-decode`` for ``train-vq`` checkpoints: an image to a grid of code ids
and back, and the health of a codebook on a folder of images. torch loads inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mmtok.cli.app import app
from mmtok.cli.render import check_output, console, fail, fail_on, print_json, write_output
from mmtok.errors import MmtokError, RequestError

if TYPE_CHECKING:
    import torch

vq_app = typer.Typer(
    help="Discrete image tokens from Chameleon, Emu3, Janus or `train-vq` folders.",
    no_args_is_help=True,
)
app.add_typer(vq_app, name="vq")

Folder = Annotated[
    Path,
    typer.Argument(
        help="A transformers Chameleon/Emu3/Janus folder or a `train-vq` checkpoint.",
        file_okay=False,
    ),
]

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
    check_output(out, "--out")
    import torch

    from mmtok.discrete.checkpoint import load_model, write_json
    from mmtok.image.decode import decode_image

    try:
        model = load_model(checkpoint, "vq-image")
        ids = model.image_to_ids(decode_image(image), size, canonical=canonical)
    except MmtokError as exc:
        fail_on(exc)
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
        write_output(out, lambda: write_json(out, data))
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
    from mmtok.discrete.checkpoint import load_model

    try:
        model = load_model(checkpoint, "vq-image")
        model.ids_to_image(_read_ids(ids)).save(out)
    except MmtokError as exc:
        fail_on(exc)
    except (OSError, ValueError) as exc:
        fail(f"{out}: cannot write the image ({exc})")
    console.print(f"{ids} → {out}", highlight=False)


def _read_ids(path: Path) -> torch.Tensor:
    """(h, w) int64 from a ``vq encode`` safetensors file (tensor ``ids``), a ``vq-encode`` JSON
    file (its ``ids``) or a bare JSON list of rows."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            grid = load_file(str(path))["ids"]
        except (SafetensorError, OSError, KeyError) as exc:
            raise RequestError(
                f"{path}: not a safetensors file with an 'ids' tensor ({exc})"
            ) from None
        if grid.dtype != torch.int64:
            raise RequestError(f"{path}: ids must be int64")
        return grid
    try:
        data = json.loads(path.read_text())
        rows = data["ids"] if isinstance(data, dict) else data
        grid = torch.tensor(rows)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RequestError(f"{path}: not a JSON grid of integer ids ({exc})") from None
    if grid.dtype != torch.int64:
        raise RequestError(f"{path}: ids must be integers")
    return grid


@vq_app.command("encode")
def encode_command(
    folder: Folder,
    image: Annotated[Path, typer.Argument(help="Image file.", dir_okay=False)],
    out: Annotated[
        Path | None, typer.Option(help="Write the ids (tensor 'ids', int64) as safetensors.")
    ] = None,
    sequence: Annotated[
        bool, typer.Option(help="Also give the ids the language model reads for the image.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Turn an image into the code grid of the tokenizer in FOLDER (its own preprocessing)."""
    from safetensors.torch import save_file

    from mmtok.discrete.vqvae import PretrainedVQ, load_image_tokenizer
    from mmtok.image.decode import decode_image

    try:
        tokenizer = load_image_tokenizer(folder)
        ids, _ = tokenizer.tokenize(decode_image(image), str(image))
        data: dict[str, object] = {
            "image": str(image),
            "rows": ids.shape[0],
            "cols": ids.shape[1],
            "codebook_size": tokenizer.codebook_size,
            "ids": ids.tolist(),
        }
        if sequence:
            if not isinstance(tokenizer, PretrainedVQ):
                raise RequestError("--sequence: a train-vq checkpoint has no text vocabulary")
            import torch

            data["sequence"] = tokenizer.sequence(torch.from_numpy(ids))
    except MmtokError as exc:
        fail(str(exc), 1)
    if out is not None:
        import torch

        try:
            save_file({"ids": torch.from_numpy(ids)}, str(out), {"image": str(image)})
        except OSError as exc:
            fail(f"{out}: cannot write ({exc})", 1)
    if json_out:
        print_json(data)
        return
    where = f" → {out}" if out is not None else ""
    console.print(
        f"{image}: {ids.shape[0]}×{ids.shape[1]} = {ids.size} ids{where}", highlight=False
    )
    if "sequence" in data:
        console.print(f"sequence: {len(data['sequence'])} ids", highlight=False)  # type: ignore[arg-type]


@vq_app.command("decode")
def decode_command(
    folder: Folder,
    ids: Annotated[Path, typer.Argument(help="Ids from `mmtok vq encode --out` (or JSON rows).")],
    out: Annotated[Path, typer.Option(help="Image file to write (format from the suffix).")],
) -> None:
    """Turn a code grid back into an image with the tokenizer's decoder."""
    from PIL import Image

    from mmtok.discrete.vqvae import load_image_tokenizer

    try:
        tokenizer = load_image_tokenizer(folder)
        pixels = tokenizer.detokenize(_read_ids(ids).numpy())
        if pixels is None:
            raise RequestError(f"{folder}: this VQ-VAE has no decoder (transformers ships none)")
        Image.fromarray(pixels).save(out)
    except MmtokError as exc:
        fail(str(exc), 1)
    except (OSError, ValueError) as exc:
        fail(f"{out}: cannot write the image ({exc})", 1)
    console.print(f"{ids} → {out}", highlight=False)


@vq_app.command("stats")
def stats_command(
    folder: Folder,
    images: Annotated[
        Path, typer.Argument(help="Folder of images, searched recursively.", file_okay=False)
    ],
    plot: Annotated[Path, typer.Option(help="PNG of code usage and reconstruction PSNR.")] = Path(
        "vq_stats.png"
    ),
    limit: Annotated[int | None, typer.Option(help="Use at most this many images.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Codebook health on your images: utilisation, entropy, perplexity, dead codes, PSNR/SSIM."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mmtok.discrete.health import measure, plot_health
    from mmtok.discrete.training import IMAGE_SUFFIXES, media_files
    from mmtok.discrete.vqvae import load_image_tokenizer

    try:
        tokenizer = load_image_tokenizer(folder)
        paths = media_files(images, IMAGE_SUFFIXES)[:limit]
        columns = (TextColumn("tokenizing"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, disable=json_out) as progress:
            task = progress.add_task("images", total=len(paths))
            health = measure(tokenizer, paths, lambda _: progress.advance(task))
        plot_health(health, plot)
    except MmtokError as exc:
        fail(str(exc), 1)
    report = health.summary() | {"plot": str(plot)}
    if json_out:
        print_json(report)
        return
    psnr, ssim = health.mean("psnr_db"), health.mean("ssim")
    quality = "no decoder" if psnr is None else f"PSNR {psnr:.2f} dB · SSIM {ssim:.3f}"
    console.print(
        f"{len(paths)} images · {health.codes} ids · used {health.used}/{health.codebook_size} "
        f"({health.utilisation:.1%}) · dead {health.dead} · entropy {health.entropy_bits:.2f} "
        f"bits · perplexity {health.perplexity:.1f} · {quality} · plot {plot}",
        highlight=False,
        soft_wrap=True,
    )
