"""``mmtok demo``: the main job on built-in sample media, end to end."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmtok.budget.plan import plan_request
from mmtok.cli.app import app
from mmtok.cli.render import binary_size, console
from mmtok.count import count_file
from mmtok.fusion.request import load_request
from mmtok.fusion.tensors import encode
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.profiles import PROFILES, get_profile
from mmtok.samples import write_samples


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the generated samples.")] = Path(
        "mmtok-demo"
    ),
    profile: Annotated[str, typer.Option(help="Profile for the tokenize and plan steps.")] = (
        "qwen2-vl"
    ),
    context: Annotated[int, typer.Option(help="Context for the plan step.")] = 1500,
) -> None:
    """Write sample media, count them under every profile, tokenize and plan a request."""
    paths = write_samples(out)
    console.print(f"[bold]1. Sample media written to {out}/[/]")
    table = Table(title="2. Header-only token counts (mmtok count)")
    table.add_column("profile")
    for p in paths:
        table.add_column(p.name, justify="right")
    for name, prof in PROFILES.items():
        rows = [count_file(p, prof) for p in paths]
        table.add_row(name, *[f"{r.tokens:,}" if r.error is None else "–" for r in rows])
    console.print(table)
    console.print("   – : the profile does not take that modality")

    prof = get_profile(profile)
    request = load_request(out / "request.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo uses the built-in tokenizer on purpose
        tok = resolve_tokenizer(prof)
    encoded = encode(request, prof, tok)
    layout = " · ".join(
        f"{s.modality} {s.tokens}"
        if s.modality == "text"
        else f"{s.modality} {s.index + 1} → {s.tokens}"
        for s in encoded.spans
    )
    console.print(f"[bold]3. {out}/request.json as {prof.name} sees it (mmtok tokenize)[/]")
    console.print(f"   {layout}", highlight=False)
    console.print(
        f"   {len(encoded.input_ids):,} tokens, position ids {tuple(encoded.position_ids.shape)}, "
        f"image grids {encoded.image_grid_thw.tolist()}, video grids "
        f"{encoded.video_grid_thw.tolist()}",
        highlight=False,
    )
    plan = plan_request(request, prof, tok, context=context, reserve_output=256, fit=True)
    console.print(
        f"[bold]4. Fit into a {context:,}-token context with 256 reserved (mmtok plan)[/]"
    )
    console.print(
        f"   {plan.original_input_tokens:,} → {plan.input_tokens:,} tokens; "
        + "; ".join(plan.fit_steps or ("already fits",)),
        highlight=False,
    )
    console.print(
        f"   prefill ≈ {plan.cost.total_flops / 1e12:.1f} TFLOP, KV cache "
        f"{binary_size(plan.cost.kv_cache_bytes)} on {plan.llm}",
        highlight=False,
    )
    console.print(
        f"Next: mmtok count --profile {profile} {out}/*  ·  "
        f"mmtok tokenize {out}/request.json --json  ·  "
        f"mmtok plan {out}/request.json --context 2048 --fit --chart plan.png"
    )
