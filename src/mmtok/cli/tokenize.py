"""``mmtok tokenize``: one request file → its token sequence, positions and media tensors."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from mmtok.budget.plan import plan_request
from mmtok.cli.app import app
from mmtok.cli.options import (
    MaxPixelsOption,
    MinPixelsOption,
    ProfileOption,
    ReserveOption,
    TokenizerOption,
    load_profile,
)
from mmtok.cli.render import (
    check_output,
    console,
    err_console,
    fail,
    fail_on,
    print_json,
    write_output,
)
from mmtok.discrete.families import is_vq_folder
from mmtok.errors import BudgetError, ConfigError, MmtokError
from mmtok.fusion.layout import Span
from mmtok.fusion.plan import SequencePlan, plan_sequence
from mmtok.fusion.request import load_request
from mmtok.fusion.tensors import Encoded, load
from mmtok.fusion.tokenizer import TokenizerFallbackWarning, resolve_tokenizer


def _describe(span: Span, encoded: SequencePlan) -> str:
    """``text 12``, ``image 1: grid 1×34×46 → 391 tokens``, ``audio 1 → 52 tokens``."""
    if span.modality == "text":
        return f"text {span.tokens}"
    grids = {"image": encoded.image_grid_thw, "video": encoded.video_grid_thw}
    name = f"{span.modality} {span.index + 1}"  # items numbered from 1
    if span.modality in grids:
        name += ": grid " + "×".join(str(int(v)) for v in grids[span.modality][span.index])
    return f"{name} → {span.tokens:,} tokens"


def _tensors(encoded: Encoded) -> dict[str, Any]:
    """What ``--out`` writes: the model inputs, modality ids, grids and the rope delta."""
    import torch

    tensors = encoded.to_model_inputs()
    tensors["modality_ids"] = torch.from_numpy(encoded.modality_ids[None].astype("int64"))
    tensors["image_grid_thw"] = torch.from_numpy(encoded.image_grid_thw)
    tensors["video_grid_thw"] = torch.from_numpy(encoded.video_grid_thw)
    tensors["rope_deltas"] = torch.tensor([[encoded.rope_delta]])
    return {k: v.contiguous() for k, v in tensors.items()}


@app.command("tokenize")
def tokenize_command(
    request: Annotated[Path, typer.Argument(help="Request JSON (paths relative to its folder).")],
    profile: ProfileOption = "qwen2-vl",
    tokenizer: TokenizerOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the tensors to this .safetensors file.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    min_pixels: MinPixelsOption = None,
    max_pixels: MaxPixelsOption = None,
    context: Annotated[
        int | None, typer.Option(help="Context limit: refuse (or with --fit, shrink) above it.")
    ] = None,
    reserve_output: ReserveOption = 0,
    fit: Annotated[
        bool, typer.Option("--fit", help="Shrink the request to fit (as mmtok plan --fit).")
    ] = False,
    mrope_advance: Annotated[
        str,
        typer.Option(help="Text after an M-RoPE item: spatial (transformers 5, default) or max."),
    ] = "spatial",
    allow_fallback_tokenizer: Annotated[
        bool,
        typer.Option(
            "--allow-fallback-tokenizer",
            help="With --out: write text ids of the built-in stand-in tokenizer anyway.",
        ),
    ] = False,
) -> None:
    """Build the exact token sequence of a multimodal request and show its layout."""
    if is_vq_folder(profile):
        if min_pixels or max_pixels or context is not None or fit:
            fail("--min-pixels/--max-pixels/--context/--fit do not apply to a VQ folder")
        _tokenize_vq(request, profile, tokenizer, out, json_out)
        return
    if mrope_advance not in ("max", "spatial"):
        fail(f"--mrope-advance {mrope_advance!r}: expected max or spatial")
    check_output(out, "--out")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TokenizerFallbackWarning)
        try:
            prof = load_profile(profile, min_pixels=min_pixels, max_pixels=max_pixels)
            # Model inputs written with a stand-in vocabulary are refused unless asked for.
            allow = out is None or allow_fallback_tokenizer
            tok = resolve_tokenizer(prof, tokenizer, allow_fallback=allow)
            advance = "spatial" if mrope_advance == "spatial" else "max"
            req = load_request(request)
            if context is not None:
                plan = plan_request(
                    req, prof, tok, context=context, reserve_output=reserve_output, fit=fit
                )
                if not plan.fits:
                    failed = "; ".join(c.detail for c in plan.checks if not c.passed)
                    raise BudgetError(f"{request}: over budget ({failed}); add --fit to shrink it")
                req = plan.request
            elif fit:
                raise ConfigError("--fit needs --context")
            encoded = plan_sequence(req, prof, tok, advance=advance)  # headers only
            # Media are decoded only when tensors are written.
            loaded = load(encoded) if out is not None else None
        except MmtokError as exc:
            fail_on(exc)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    if loaded is not None and out is not None:
        from safetensors import SafetensorError
        from safetensors.torch import save_file

        tensors = _tensors(loaded)
        write_output(out, lambda: save_file(tensors, str(out)), (SafetensorError,))
    if json_out:
        print_json({**encoded.to_json(), "tokenizer": tok.name})
        return
    console.print(f"[bold]mmtok tokenize[/] · {prof.name} · {tok.name}", highlight=False)
    console.print(" · ".join(_describe(s, encoded) for s in encoded.spans), highlight=False)
    totals = encoded.to_json()["modality_totals"]
    parts = [f"{k} {v:,}" for k, v in totals.items() if v]
    console.print(
        f"totals: {' · '.join(parts)} · total {len(encoded.input_ids):,}", highlight=False
    )
    if prof.rope != "1d":
        console.print(f"M-RoPE delta {encoded.rope_delta}", highlight=False)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)


def _tokenize_vq(
    request: Path, folder: str, tokenizer: Path | None, out: Path | None, json_out: bool
) -> None:
    """A Chameleon, Emu3 or Janus folder: plan from headers, then run its VQ-VAE on every
    image to put the code ids in place (on purpose: the ids need the encoder)."""
    from mmtok.discrete.families import read_folder
    from mmtok.discrete.vqvae import load_pretrained
    from mmtok.fusion.discrete import fill_codes, plan_discrete
    from mmtok.image.decode import decode_image
    from mmtok.text.tokenizers import load_tokenizer

    check_output(out, "--out")
    try:
        vq = read_folder(folder)
        tok = load_tokenizer(tokenizer) if tokenizer is not None else vq.text_tokenizer
        plan = plan_discrete(load_request(request), vq, tok)  # headers only
        model = load_pretrained(vq)
        filled = fill_codes(plan, lambda it: model.image_tokens(decode_image(it.input), it.source))
    except MmtokError as exc:
        fail_on(exc)
    if out is not None:
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import save_file

        tensors = {k: torch.from_numpy(v) for k, v in filled.to_arrays().items()}
        write_output(out, lambda: save_file(tensors, str(out)), (SafetensorError,))
    if json_out:
        print_json({**filled.to_json(), "tokenizer": tok.name})
        return
    console.print(f"[bold]mmtok tokenize[/] · {vq.family.name} VQ · {tok.name}", highlight=False)
    grids = {it.index: it.grid for it in filled.items}
    described = [
        f"text {s.tokens}"
        if s.modality == "text"
        else f"image {s.index + 1}: codes {grids[s.index][0]}×{grids[s.index][1]} → "
        f"{s.tokens:,} tokens"
        for s in filled.spans
    ]
    console.print(" · ".join(described), highlight=False)
    console.print(f"total {len(filled.input_ids):,}", highlight=False)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)
