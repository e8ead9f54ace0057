"""``mmtok encode`` (a request's visual tokens, through the cache) and ``mmtok cache
stats|verify|clear`` (inspect or empty a cache directory, also one other processes wrote)."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from mmtok.cache.store import DISK_BYTES, DiskTier
from mmtok.cli.app import app
from mmtok.cli.options import load_profile
from mmtok.cli.render import (
    check_output,
    console,
    err_console,
    fail,
    fail_on,
    print_json,
    write_output,
)
from mmtok.errors import MmtokError
from mmtok.fusion.request import load_request

if TYPE_CHECKING:  # encoding loads torch: only when ``mmtok encode`` runs
    from mmtok.cache.encode import EncodedItem

cache_app = typer.Typer(
    help="Inspect, check or empty a visual-token cache directory.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DirOption = Annotated[Path, typer.Option("--dir", help="The cache directory.")]


def _item_json(item: EncodedItem) -> dict[str, Any]:
    tokens = item.tokens
    return {
        "part": item.part,
        "kind": item.kind,
        "index": item.index,
        "source": item.source,
        "grid": list(tokens.grid),
        "shape": list(tokens.features.shape),
        "span": [item.span.start, item.span.end],
        "key": tokens.key,
        "cached": tokens.cached,
    }


def _save(path: Path, items: tuple[EncodedItem, ...], meta: dict[str, Any]) -> None:
    """Features as ``{kind}.{index}`` ``(V, N, D)``; ``spans`` ``(M, 2)`` token ``[start, end)``
    and ``grid_thw`` ``(M, 3)`` in item order; the item list as JSON metadata."""
    import torch
    from safetensors.torch import save_file

    tensors = {f"{it.kind}.{it.index}": it.tokens.features.contiguous() for it in items}
    tensors["spans"] = torch.tensor([[it.span.start, it.span.end] for it in items]).reshape(-1, 2)
    tensors["grid_thw"] = torch.tensor([it.tokens.grid for it in items]).reshape(-1, 3)
    items_json = json.dumps([_item_json(it) for it in items])
    from safetensors import SafetensorError

    metadata = {**meta, "items": items_json}
    write_output(path, lambda: save_file(tensors, str(path), metadata=metadata), (SafetensorError,))


@app.command("encode")
def encode_command(
    request: Annotated[Path, typer.Argument(help="Request JSON (paths relative to its folder).")],
    vision_tower: Annotated[
        Path, typer.Option(help="Local HF folder of the vision tower (CLIP, SigLIP, Qwen2-VL).")
    ],
    profile: Annotated[
        str | None,
        typer.Option(help="Profile name or local HF model folder (default: the tower's folder)."),
    ] = None,
    cache: Annotated[Path | None, typer.Option(help="Cache directory (shared; created).")] = None,
    cache_max_bytes: Annotated[
        int, typer.Option(help="Disk limit of the cache, bytes.")
    ] = DISK_BYTES,
    out: Annotated[
        Path | None, typer.Option(help="Write the features and spans to this .safetensors file.")
    ] = None,
    tokenizer: Annotated[
        Path | None, typer.Option(help="Tokenizer for the spans' text (default: built in).")
    ] = None,
    layer: Annotated[int | None, typer.Option(help="Hidden state to take (LLaVA: -2).")] = None,
    merged: Annotated[bool, typer.Option(help="Qwen2-VL: the merger's output.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Run preprocessing and the vision tower for every media item of a request (cached)."""
    from mmtok.cache.encode import TowerOptions, encode_request
    from mmtok.cache.store import Cache
    from mmtok.compress.tower import check_profile, load_vision_tower

    check_output(out, "--out")
    if not vision_tower.is_dir():
        fail(f"--vision-tower {vision_tower}: no such folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            prof = load_profile(profile or str(vision_tower))
            tower = load_vision_tower(vision_tower)
            check_profile(tower, prof)
            store = Cache.at(cache, max_bytes=cache_max_bytes) if cache else Cache.at(None)
            with store:
                items = encode_request(
                    load_request(request),
                    prof,
                    tower,
                    cache=store,
                    tokenizer=tokenizer,
                    options=TowerOptions(layer=layer, merged=merged),
                )
        except MmtokError as exc:
            fail_on(exc)
    for w in caught:
        if issubclass(w.category, UserWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    stats = store.stats()
    if out is not None:
        _save(out, items, {"profile": prof.name, "encoder": tower.identity})
    if json_out:
        print_json(
            {
                "profile": prof.name,
                "encoder": tower.identity,
                "items": [_item_json(it) for it in items],
                "stats": stats.to_json(),
            }
        )
        return
    table = Table(title=f"mmtok encode · {prof.name}", title_justify="left")
    for column in ("item", "source", "grid", "features", "span", "cache"):
        table.add_column(column)
    for it in items:
        table.add_row(
            f"{it.kind} {it.index + 1}",
            it.source,
            "×".join(map(str, it.tokens.grid)),
            "×".join(map(str, it.tokens.features.shape)),
            f"{it.span.start}–{it.span.end}",
            "hit" if it.tokens.cached else "computed",
        )
    console.print(table)
    console.print(f"hits {stats.hits} · misses {stats.misses}", highlight=False)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)


@contextlib.contextmanager
def _tier(directory: Path) -> Iterator[DiskTier]:
    """The directory's disk tier; a missing or unreadable directory is an error line."""
    if not directory.is_dir():
        fail(f"{directory}: no such cache directory")
    try:
        yield DiskTier(directory)
    except OSError as exc:
        fail(f"{directory}: {exc}")


@cache_app.command("stats")
def stats_command(directory: DirOption, json_out: JsonOption = False) -> None:
    """Entries, bytes and the counters of every process that used the directory."""
    with _tier(directory) as tier:
        files = tier.scan()
        counters = tier.counters().to_json()
    for measured in ("memory_entries", "memory_bytes"):  # per process, not the directory's
        counters.pop(measured)
    data = {
        "directory": str(directory),
        "entries": len(files),
        "bytes": sum(f.bytes for f in files),
        **counters,
        "evictions": counters["disk_evictions"],
    }
    if json_out:
        print_json(data)
        return
    table = Table(title=f"mmtok cache · {directory}", title_justify="left", show_header=False)
    for name, value in data.items():
        if name != "directory":
            table.add_row(name, f"{value:,}")
    console.print(table)


@cache_app.command("verify")
def verify_command(directory: DirOption, json_out: JsonOption = False) -> None:
    """Check every entry's checksum; list the bad ones (exit code 1 when there are any)."""
    with _tier(directory) as tier:
        checked, bad = tier.verify()
    if json_out:
        print_json(
            {"checked": checked, "bad": [{"path": str(b.path), "problem": b.problem} for b in bad]}
        )
    else:
        for b in bad:
            console.print(f"[red]bad[/] {b.path}: {b.problem}", highlight=False)
        console.print(f"{checked:,} entries checked, {len(bad):,} bad", highlight=False)
    if bad:
        raise typer.Exit(1)


@cache_app.command("clear")
def clear_command(directory: DirOption, json_out: JsonOption = False) -> None:
    """Remove every entry (and the counters) from the directory."""
    with _tier(directory) as tier:
        entries, size = tier.clear()
    if json_out:
        print_json({"removed": entries, "bytes": size})
        return
    console.print(f"removed {entries:,} entries ({size:,} bytes)", highlight=False)
