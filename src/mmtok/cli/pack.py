"""``mmtok pack``: a pretokenized folder → fixed-length packed training sequences."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from mmtok.cli.app import app
from mmtok.cli.pretokenize import check_chart, output_folder
from mmtok.cli.render import console, err_console, fail_on, print_json
from mmtok.errors import MmtokError
from mmtok.pretokenize.pack import OnProgress, PackOptions, pack
from mmtok.pretokenize.summary import plot_packing

_STAGES = {
    "lengths": "read lengths (input shards)",
    "distribute": "route rows (input shards)",
    "write": "write packed rows",
}


@contextmanager
def _progress() -> Iterator[OnProgress]:
    """One bar per stage on stderr, each added when its stage starts."""
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES[stage], total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update


def _render(m: dict[str, Any]) -> None:
    table = Table(title=f"mmtok pack · context {m['options']['context']:,}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("samples packed", f"{m['samples']:,}")
    table.add_row("packed rows", f"{m['rows']:,} (lower bound {m['lower_bound_rows']:,})")
    table.add_row("tokens · padding", f"{m['tokens']:,} · {m['padding']:,}")
    table.add_row("efficiency (tokens / rows × context)", f"{m['efficiency']:.2%}")
    skipped = m["skipped"]
    table.add_row(
        "not packed: errors · empty · too long",
        f"{skipped['errors']:,} · {skipped['empty']:,} · {skipped['too_long']:,}",
    )
    table.add_row("time", f"{m['seconds']:,.1f} s")
    console.print(table)
    hist = m["histogram"]
    peak = max(hist["rows"]) or 1
    console.print("rows by fill:", highlight=False)
    for lo, n in zip(hist["fill"][:-1], hist["rows"], strict=True):
        if n:
            console.print(f"  ≥{lo:4.0%} {'█' * max(1, round(30 * n / peak))} {n:,}")


@app.command("pack")
def pack_command(
    source: Annotated[Path, typer.Argument(help="A folder written by mmtok pretokenize.")],
    output: Annotated[
        Path | None, typer.Argument(help="Output folder for the packed Parquet dataset.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The output folder (instead of OUTPUT).")
    ] = None,
    context: Annotated[
        int, typer.Option(help="Tokens per packed row (samples are never split).")
    ] = ...,  # type: ignore[assignment]
    pad_to_multiple: Annotated[
        int, typer.Option(help="Pad every packed row to a multiple of this many tokens.")
    ] = 1,
    pad_id: Annotated[int, typer.Option(help="Token id of the padding.")] = 0,
    shuffle_seed: Annotated[
        int | None, typer.Option(help="Shuffle the packed rows' order with this seed.")
    ] = None,
    shard_rows: Annotated[int, typer.Option(help="Packed rows per output shard.")] = 1000,
    chart: Annotated[
        Path | None, typer.Option(help="Write a histogram of how full the rows are (PNG).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Pack pretokenized samples into sequences of at most --context tokens (first-fit
    decreasing), keeping each sample's positions and boundaries."""
    output = output_folder(output, out)
    if chart is not None:
        check_chart(chart)
    options = PackOptions(
        context=context,
        pad_to_multiple=pad_to_multiple,
        pad_id=pad_id,
        shuffle_seed=shuffle_seed,
        shard_rows=shard_rows,
    )
    try:
        options.check()
        with _progress() as on_progress:
            manifest = pack(source, output, options, on_progress=on_progress)
    except MmtokError as exc:
        fail_on(exc)
    if chart is not None:
        plot_packing(manifest, chart)
    if json_out:
        print_json(manifest)
        return
    _render(manifest)
    console.print(f"wrote {output}" + (f" · chart {chart}" if chart else ""), highlight=False)
