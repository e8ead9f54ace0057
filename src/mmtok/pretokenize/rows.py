"""The per-batch function both engines call: source rows → output rows, in a fixed schema.

Each row is what ``mmtok tokenize`` builds for the same request (ids, positions, modality ids,
grids), after the same budget rule as ``mmtok plan --context --reserve-output [--fit]``. Rows
come from the sequence plan, from media headers: nothing is decoded unless ``verify`` asks
for it (then every item is decoded, to catch pixel data its header hides). A row that fails
for any reason keeps its place with its ``error`` message and null data, so a bad sample never
drops out and never stops a run. ``lengths_only`` rows hold ``id``, ``num_tokens``, ``error``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mmtok.budget.fit import fit_request
from mmtok.budget.plan import check_budget
from mmtok.errors import BudgetError, ConfigError, MmtokError
from mmtok.fusion import (
    Request,
    SequencePlan,
    TokenizerFallbackWarning,
    count_request,
    load,
    parse_request,
    plan_sequence,
    resolve_tokenizer,
)
from mmtok.pretokenize.columns import list_column, nested_column
from mmtok.pretokenize.source import SourceRow
from mmtok.profiles import Profile, get_profile
from mmtok.text.tokenizers import TextTokenizer

_IDS = pa.list_(pa.int32())
_GRID = pa.list_(pa.list_(pa.int32()))

LENGTHS_SCHEMA = pa.schema(
    [("id", pa.string()), ("num_tokens", pa.int32()), ("error", pa.string())]
)
FULL_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("num_tokens", pa.int32()),
        ("input_ids", _IDS),  # (L,)
        ("position_ids", _GRID),  # (3, L) M-RoPE, (1, L) otherwise
        ("modality_ids", pa.list_(pa.int8())),  # (L,) text 0, image 1, video 2, audio 3, special 4
        ("image_grid_thw", _GRID),  # (n, 3)
        ("video_grid_thw", _GRID),  # (v, 3)
        ("fitted", pa.bool_()),
        ("error", pa.string()),
    ]
)


@dataclass(frozen=True)
class RowOptions:
    """How every row is built (identical on every worker).

    ``context``/``reserve_output``/``fit`` mean what they mean for ``mmtok plan``: a request
    over ``context - reserve_output`` tokens is an error row, or is shrunk when ``fit``.
    ``verify`` decodes every media item of a full row (a corrupt one makes an error row).
    """

    profile: str = "qwen2-vl"
    tokenizer: str | None = None
    context: int | None = None
    reserve_output: int = 0
    fit: bool = False
    lengths_only: bool = False
    verify: bool = False

    @property
    def schema(self) -> pa.Schema:
        return LENGTHS_SCHEMA if self.lengths_only else FULL_SCHEMA

    def check(self) -> None:
        """Refuse inconsistent options before any row is read (:class:`ConfigError`)."""
        if self.verify and self.lengths_only:
            raise ConfigError("--verify decodes full rows: it cannot go with --lengths-only")
        if self.context is None:
            if self.fit or self.reserve_output:
                raise ConfigError("--fit and --reserve-output need --context")
            return
        check_budget(self.context, self.reserve_output)


@functools.cache
def tools(profile: str, tokenizer: str | None) -> tuple[Profile, TextTokenizer]:
    """The profile and tokenizer, resolved once per worker process and reused by every batch
    it runs. The fallback-tokenizer warning is the driver's to show, once, not each worker's."""
    prof = get_profile(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TokenizerFallbackWarning)
        return prof, resolve_tokenizer(prof, tokenizer)


def _fitted(
    request: Request, profile: Profile, tok: TextTokenizer, options: RowOptions
) -> tuple[Request, bool]:
    """The request to plan under ``--fit`` (shrunk when over budget) and whether it changed."""
    if options.context is None or not options.fit:
        return request, False
    result = fit_request(request, profile, tok, options.context - options.reserve_output)
    return result.request, result.changed


def _within_budget(total: int, options: RowOptions) -> None:
    """Refuse a request over ``context − reserve_output`` tokens (:class:`BudgetError`)."""
    if options.context is None:
        return
    budget = options.context - options.reserve_output
    if total > budget:
        raise BudgetError(
            f"over budget: {total:,} tokens > context − reserve "
            f"({options.context:,} − {options.reserve_output:,} = {budget:,})"
        )


def _full(plan: SequencePlan, rid: str, fitted: bool) -> dict[str, Any]:
    return {
        "id": rid,
        "num_tokens": len(plan.input_ids),
        "input_ids": plan.input_ids,
        "position_ids": plan.position_ids,
        "modality_ids": plan.modality_ids,
        "image_grid_thw": plan.image_grid_thw,
        "video_grid_thw": plan.video_grid_thw,
        "fitted": fitted,
        "error": None,
    }


def build_row(row: SourceRow, options: RowOptions) -> dict[str, Any]:
    """One output row: the data of a tokenized request (NumPy arrays), or its ``error``."""
    if row.error is not None:
        return {"id": row.id, "error": row.error}
    profile, tok = tools(options.profile, options.tokenizer)
    try:
        request, fitted = _fitted(parse_request(row.request, base=row.base), profile, tok, options)
        if options.lengths_only:
            total = count_request(request, profile, tok).total
            _within_budget(total, options)
            return {"id": row.id, "num_tokens": total, "error": None}
        plan = plan_sequence(request, profile, tok)
        _within_budget(len(plan.input_ids), options)
        if options.verify:
            load(plan)
    except MmtokError as exc:
        return {"id": row.id, "error": str(exc)}
    except Exception as exc:  # a bug on one sample must not stop a million-row run
        return {"id": row.id, "error": f"unexpected {type(exc).__name__}: {exc}"}
    return _full(plan, row.id, fitted)


def to_table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows of :func:`build_row` as a table in ``schema``: list columns from the arrays at
    once, never an Arrow scalar per token."""
    columns = []
    for field in schema:
        values = [r.get(field.name) for r in rows]
        if field.type == _IDS or field.type == pa.list_(pa.int8()):
            columns.append(list_column(values, field.type))
        elif field.type == _GRID:
            columns.append(nested_column(values, field.type))
        else:
            columns.append(pa.array(values, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def process_batch(rows: Sequence[SourceRow], options: RowOptions) -> pa.Table:
    """The per-batch function: one output row per input row, in order, in ``options.schema``."""
    return to_table([build_row(r, options) for r in rows], options.schema)
