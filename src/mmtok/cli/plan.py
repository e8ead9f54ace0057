"""``mmtok plan``: will a request fit the context, what will it cost, and how to make it fit."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmtok.budget.chart import plot_plan
from mmtok.budget.cost import load_llm
from mmtok.budget.fit import FIT_STEPS
from mmtok.budget.plan import Limits, Plan, plan_request
from mmtok.cli.app import app
from mmtok.cli.options import ProfileOption, ReserveOption, load_profile
from mmtok.cli.render import (
    binary_size,
    check_output,
    console,
    err_console,
    fail_on,
    print_json,
    write_output,
)
from mmtok.errors import MmtokError
from mmtok.fusion.request import load_request
from mmtok.fusion.serialize import request_to_json


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}"


def _render(plan: Plan) -> None:
    table = Table(title=f"mmtok plan · {plan.profile} · context {plan.context:,}")
    for col in ("item", "source", "grid", "params", "tokens"):
        table.add_column(col, justify="right" if col == "tokens" else "left")
    for item in plan.items:
        name = item.kind if item.index is None else f"{item.kind} {item.index + 1}"
        grid = "×".join(map(str, item.grid)) if item.grid else ""
        params = ", ".join(f"{k}={v:g}" for k, v in item.params.items())
        tokens = "dropped" if item.dropped else f"{item.tokens:,}"
        table.add_row(name, item.source or "", grid, params, tokens)
    table.add_section()
    table.add_row("input", "", "", "", f"{plan.input_tokens:,}")
    table.add_row("headroom", "", "", f"reserve {plan.reserve_output:,}", f"{plan.headroom:,}")
    console.print(table)
    for check in plan.checks:
        mark = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        console.print(f"  {mark} {check.name}: {check.detail}", highlight=False)
    if plan.fitted_input_tokens is not None:
        console.print(
            f"fitted: {plan.original_input_tokens:,} → {plan.fitted_input_tokens:,} tokens"
            + "".join(f"\n  · {s}" for s in plan.fit_steps)
        )
    c = plan.cost
    console.print(
        f"cost ({plan.llm}): prefill {_si(c.total_flops, 'FLOP')} "
        f"(linear {_si(c.linear_flops, 'FLOP')}, attention {_si(c.attention_flops, 'FLOP')}, "
        f"vision {_si(c.vision_flops, 'FLOP')}) · KV cache {binary_size(c.kv_cache_bytes)} · "
        f"TTFT ≈ {c.ttft_seconds * 1e3:.1f} ms",
        highlight=False,
    )
    verdict = "[green]fits[/]" if plan.fits else "[red]does not fit[/]"
    console.print(f"verdict: {verdict}")


@app.command("plan")
def plan_command(
    request: Annotated[Path, typer.Argument(help="Request JSON (messages or prompt + media).")],
    context: Annotated[int, typer.Option(help="Context limit in tokens.")],
    profile: ProfileOption = "qwen2-vl",
    reserve_output: ReserveOption = 0,
    fit: Annotated[bool, typer.Option("--fit", help="Shrink the request until it fits.")] = False,
    policy: Annotated[str, typer.Option(help="Fit steps in order, comma-separated.")] = ",".join(
        FIT_STEPS
    ),
    llm: Annotated[
        str | None, typer.Option(help="LLM preset name or config.json for the cost model.")
    ] = None,
    tokenizer: Annotated[Path | None, typer.Option(help="Text tokenizer file.")] = None,
    max_item_tokens: Annotated[int | None, typer.Option(help="Per-item token cap.")] = None,
    max_images: Annotated[int | None, typer.Option(help="Most images per request.")] = None,
    max_videos: Annotated[int | None, typer.Option(help="Most videos per request.")] = None,
    max_audios: Annotated[int | None, typer.Option(help="Most audio clips per request.")] = None,
    peak_tflops: Annotated[float, typer.Option(help="Accelerator peak, TFLOP/s.")] = 989.0,
    utilisation: Annotated[float, typer.Option(help="Fraction of peak reached.")] = 0.4,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    chart: Annotated[Path | None, typer.Option(help="Write a stacked-bar PNG here.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the (fitted) request as JSON here, to encode or serve as is."),
    ] = None,
) -> None:
    """Plan a request against a context limit; exits 1 when it does not fit (without --fit)."""
    check_output(chart, "--chart")
    check_output(out, "--out")
    try:
        prof = load_profile(profile)
        req = load_request(request)
        spec = load_llm(llm) if llm else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plan = plan_request(
                req,
                prof,
                str(tokenizer) if tokenizer else None,
                context=context,
                reserve_output=reserve_output,
                fit=fit,
                policy=tuple(s.strip() for s in policy.split(",") if s.strip()),
                llm=spec,
                limits=Limits(max_item_tokens, max_images, max_videos, max_audios),
                peak_flops=peak_tflops * 1e12,
                utilisation=utilisation,
            )
        for w in caught:
            err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    except MmtokError as exc:
        fail_on(exc)
    if chart is not None:
        write_output(chart, lambda: plot_plan(plan, chart))
    if out is not None:
        text = json.dumps(request_to_json(plan.request), indent=2) + "\n"
        write_output(out, lambda: out.write_text(text, encoding="utf-8"))
    if json_out:
        print_json(plan.to_json())
    else:
        _render(plan)
        for written, what in ((chart, "chart"), (out, "request")):
            if written is not None:
                console.print(f"{what} written to {written}", highlight=False)
    if not plan.fits:
        raise typer.Exit(1)
