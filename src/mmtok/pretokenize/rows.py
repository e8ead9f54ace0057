"""The per-batch function both engines call: source rows → output rows, in a fixed schema.

Each row is what ``mmtok tokenize`` builds for the same request (ids, positions, modality ids,
grids), after the same budget rule as ``mmtok plan --context --reserve-output [--fit]``. A row
that fails for any reason keeps its place with its ``error`` message and null data, so a bad
sample never drops out and never stops a run. ``lengths_only`` rows are counted from headers
alone (nothing decoded): ``id``, ``num_tokens``, ``error``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from mmtok.budget.fit import fit_request
from mmtok.budget.plan import check_budget
from mmtok.errors import BudgetError, ConfigError, MmtokError
from mmtok.fusion.request import Request, parse_request
from mmtok.fusion.sequence import (
    TokenizerFallbackWarning,
    count_request,
    encode,
    resolve_tokenizer,
)
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
    """

    profile: str = "qwen2-vl"
    tokenizer: str | None = None
    context: int | None = None
    reserve_output: int = 0
    fit: bool = False
    lengths_only: bool = False

    @property
    def schema(self) -> pa.Schema:
        return LENGTHS_SCHEMA if self.lengths_only else FULL_SCHEMA

    def check(self) -> None:
        """Refuse inconsistent options before any row is read (:class:`ConfigError`)."""
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


def _budgeted(
    request: Request, profile: Profile, tok: TextTokenizer, options: RowOptions
) -> tuple[Request, int | None, bool]:
    """The request to encode, its count when already known, and whether fitting changed it."""
    if options.context is None:
        return request, None, False
    budget = options.context - options.reserve_output
    if options.fit:
        result = fit_request(request, profile, tok, budget)
        return result.request, result.count.total, result.changed
    total = count_request(request, profile, tok).total
    if total > budget:
        raise BudgetError(
            f"over budget: {total:,} tokens > context − reserve "
            f"({options.context:,} − {options.reserve_output:,} = {budget:,})"
        )
    return request, total, False


def build_row(row: SourceRow, options: RowOptions) -> dict[str, Any]:
    """One output row: the data of a tokenized request, or its ``error`` and nulls."""
    if row.error is not None:
        return {"id": row.id, "error": row.error}
    profile, tok = tools(options.profile, options.tokenizer)
    try:
        request = parse_request(row.request, base=row.base)
        request, total, fitted = _budgeted(request, profile, tok, options)
        if options.lengths_only:
            total = total if total is not None else count_request(request, profile, tok).total
            return {"id": row.id, "num_tokens": total, "error": None}
        enc = encode(request, profile, tok)
    except MmtokError as exc:
        return {"id": row.id, "error": str(exc)}
    except Exception as exc:  # a bug on one sample must not stop a million-row run
        return {"id": row.id, "error": f"unexpected {type(exc).__name__}: {exc}"}
    return {
        "id": row.id,
        "num_tokens": len(enc.input_ids),
        "input_ids": enc.input_ids.astype(np.int32),
        "position_ids": enc.position_ids.astype(np.int32).tolist(),
        "modality_ids": enc.modality_ids.astype(np.int8),
        "image_grid_thw": enc.image_grid_thw.astype(np.int32).tolist(),
        "video_grid_thw": enc.video_grid_thw.astype(np.int32).tolist(),
        "fitted": fitted,
        "error": None,
    }


def process_batch(rows: Sequence[SourceRow], options: RowOptions) -> pa.Table:
    """The per-batch function: one output row per input row, in order, in ``options.schema``."""
    return pa.Table.from_pylist([build_row(r, options) for r in rows], schema=options.schema)
