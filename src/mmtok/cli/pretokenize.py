"""``mmtok pretokenize``: a dataset of requests → Parquet shards of ids, positions and grids."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from mmtok.cli.app import app
from mmtok.cli.options import ProfileOption, ReserveOption, TokenizerOption
from mmtok.cli.render import check_output, console, err_console, fail, fail_on, print_json
from mmtok.errors import MmtokError
from mmtok.pretokenize.engines import OnShard
from mmtok.pretokenize.rows import RowOptions
from mmtok.pretokenize.run import Finished, Run, default_workers, execute, prepare
from mmtok.pretokenize.shards import MANIFEST, ShardResult
from mmtok.pretokenize.summary import plot_lengths


class _Rate(ProgressColumn):
    """Rows per second since the bar started."""

    def render(self, task: Task) -> Text:
        return Text(f"{_rate(task.completed, task.elapsed or 0.0)} rows/s")


def _rate(rows: float, seconds: float) -> str:
    """Rows per second, with a decimal when it is small."""
    rate = rows / seconds if seconds else 0.0
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"


@contextmanager
def _progress(run: Run) -> Iterator[OnShard]:
    """A bar on stderr over the rows still to write, advanced as each shard lands."""
    bar = Progress(
        TextColumn("pretokenize"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        _Rate(),
        TextColumn("· {task.fields[errors]:,} errors"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    task = bar.add_task("rows", total=run.pending_rows, errors=0)
    errors = 0

    def advance(result: ShardResult) -> None:
        nonlocal errors
        errors += result.errors
        bar.update(task, advance=result.rows, errors=errors)

    with bar:
        yield advance


def _render(done: Finished) -> None:
    m, stats = done.manifest, done.summary.length_stats()
    written = m["run"]["rows_written"]
    seconds = m["run"]["seconds"]
    table = Table(title=f"mmtok pretokenize · {m['profile']} · {m['run']['engine']}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("rows", f"{m['rows']:,}")
    table.add_row("errors", f"{m['errors']:,}")
    if not m["options"]["lengths_only"]:
        table.add_row("fitted", f"{m['fitted']:,}")
    table.add_row("tokens", f"{m['tokens']['total']:,}")
    if stats:
        table.add_row(
            "length min · mean · p50 · p95 · max",
            " · ".join(f"{stats[k]:,.0f}" for k in ("min", "mean", "p50", "p95", "max")),
        )
    table.add_row(
        "shards written · skipped", f"{m['run']['shards_written']} · {m['run']['shards_skipped']}"
    )
    rate = f" ({_rate(written, seconds)} rows/s)" if written else ""
    table.add_row("time", f"{seconds:,.1f} s{rate}")
    console.print(table)


def output_folder(output: Path | None, out: Path | None) -> Path:
    """The output folder, given as the second argument or as ``--out`` (exactly one)."""
    if output is not None and out is not None and output != out:
        fail(f"two output folders: {output} and --out {out}; give one")
    folder = output or out
    if folder is None:
        fail("missing the output folder: give it as the second argument or with --out")
    return folder


def check_chart(chart: Path) -> None:
    """Refuse a chart path that could not be written, before any work."""
    if chart.suffix.lower() != ".png":
        fail(f"--chart {chart}: expected a .png file")
    check_output(chart, "--chart")


@app.command("pretokenize")
def pretokenize_command(
    source: Annotated[
        Path, typer.Argument(help="JSONL or Parquet ('request' column) file, or a folder of them.")
    ],
    output: Annotated[
        Path | None,
        typer.Argument(help="Output folder: a Parquet dataset (shards + manifest); rerun resumes."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The output folder (instead of OUTPUT).")
    ] = None,
    profile: ProfileOption = "qwen2-vl",
    tokenizer: TokenizerOption = None,
    context: Annotated[
        int | None, typer.Option(help="Context limit: longer rows are errors (or fitted).")
    ] = None,
    reserve_output: ReserveOption = 0,
    fit: Annotated[
        bool, typer.Option("--fit", help="Shrink over-budget requests (as mmtok plan --fit).")
    ] = False,
    lengths_only: Annotated[
        bool,
        typer.Option("--lengths-only", help="Write id, num_tokens, error only (headers only)."),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Also decode every media item (catch corrupt pixels)."),
    ] = False,
    shard_rows: Annotated[int, typer.Option(help="Rows per output shard.")] = 1000,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: every CPU; Ray: the cluster's).")
    ] = None,
    engine: Annotated[str, typer.Option(help="local (process pool) or ray (Ray Data).")] = (
        "local"
    ),
    ray_address: Annotated[
        str | None, typer.Option(help="Join this Ray cluster (default: start a local one).")
    ] = None,
    chart: Annotated[Path | None, typer.Option(help="Write a histogram of lengths (PNG).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Pretokenize a dataset of requests into Parquet shards, one row per request (nothing
    decoded unless --verify)."""
    output = output_folder(output, out)
    if chart is not None:
        check_chart(chart)
    options = RowOptions(
        profile=profile,
        tokenizer=str(tokenizer) if tokenizer else None,
        context=context,
        reserve_output=reserve_output,
        fit=fit,
        lengths_only=lengths_only,
        verify=verify,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run = prepare(
                source, output, options, shard_rows=shard_rows, engine=engine, workers=workers
            )
        except MmtokError as exc:
            fail_on(exc)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    busy = workers or default_workers()
    if engine == "local" and 0 < len(run.pending) < busy:
        err_console.print(
            f"note: {len(run.pending)} shard(s) to write, so at most {len(run.pending)} of "
            f"{busy} workers are busy (work is split by shard: lower --shard-rows)",
            highlight=False,
        )
    skipped = len(run.layout.shards) - len(run.pending)
    if skipped:
        err_console.print(
            f"resuming: {skipped} of {len(run.layout.shards)} shard(s) already written",
            highlight=False,
        )
    try:
        with _progress(run) as on_shard:
            done = execute(
                run, engine=engine, workers=workers, ray_address=ray_address, on_shard=on_shard
            )
    except MmtokError as exc:
        fail_on(exc)
    if chart is not None:
        budget = context - reserve_output if context is not None else None
        plot_lengths(done.summary, chart, budget)
    if json_out:
        print_json(done.manifest)
        return
    _render(done)
    console.print(
        f"wrote {output} (manifest {output / MANIFEST})" + (f" · chart {chart}" if chart else ""),
        highlight=False,
    )
