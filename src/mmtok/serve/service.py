"""The service's logic, apart from HTTP: a body (parsed JSON) in, a JSON-ready answer out.

Built once per process: the profile and tokenizer load at start, so a request costs only its
own work — decode the ``data:`` URLs, probe every media header (within the limits), tokenize
the text, lay out the sequence. Nothing is decoded into pixels or samples.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, StrictBool, ValidationError

from mmtok.budget.cost import LLM_PRESETS, load_llm
from mmtok.budget.fit import FIT_STEPS
from mmtok.budget.plan import Limits, plan_request
from mmtok.errors import ConfigError, MediaError, MediaTooLargeError, RequestError
from mmtok.fusion import Modality, Request, parse_request, plan_sequence, resolve_tokenizer
from mmtok.probe import probe
from mmtok.profiles import get_profile
from mmtok.serve.body import LimitExceededError, split_body
from mmtok.serve.config import ServeConfig

TOKENIZE_OPTIONS = frozenset({"return_token_strs"})


class PlanOptions(BaseModel):
    """``/v1/plan``'s own keys beside the request (``mmtok plan``'s options)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    context: PositiveInt | None = None
    reserve_output: NonNegativeInt | None = None
    fit: StrictBool = False
    policy: list[str] | str | None = None
    max_item_tokens: PositiveInt | None = None
    max_images: NonNegativeInt | None = None
    max_videos: NonNegativeInt | None = None
    max_audios: NonNegativeInt | None = None
    llm: str | None = None


PLAN_OPTIONS = frozenset(PlanOptions.model_fields)


def _options(raw: dict[str, Any]) -> PlanOptions:
    try:
        return PlanOptions.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        raise RequestError(f"{e['loc'][0]}: {e['msg']}") from None


def _answer_limit(body: dict[str, Any]) -> int:
    """The body's ``max_completion_tokens`` (or older ``max_tokens``), else 0."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 0:
            raise RequestError(f"{key}: {value!r} is not a non-negative number of tokens")
        return value
    return 0


class Service:
    """One profile and tokenizer, answering ``/tokenize`` and ``/v1/plan`` bodies."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.profile = get_profile(config.profile)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.tokenizer = resolve_tokenizer(self.profile, config.tokenizer)
        # A stand-in tokenizer makes text counts approximate: every answer says so.
        self.warnings = [str(w.message) for w in caught]
        self.media_root: Path | None = None
        if config.media_root is not None:
            self.media_root = Path(config.media_root).resolve()
            if not self.media_root.is_dir():
                raise ConfigError(f"--media-root {config.media_root}: not a folder")

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers."""
        return {
            "status": "ok",
            "profile": self.profile.name,
            "tokenizer": self.tokenizer.name,
            "max_model_len": self.config.max_model_len,
            "warnings": self.warnings,
        }

    def request(self, data: dict[str, Any]) -> Request:
        """Validate a request body (paths confined to the media root) and admit it: at most
        ``max_media_items`` parts, every header probed within ``max_pixels`` and
        ``max_duration`` — refused with an error naming the part, before any planning."""
        root = self.media_root
        request = parse_request(data, media_root=root, local_files=root is not None)
        parts = request.media_parts()
        limit = self.config.max_media_items
        if len(parts) > limit:
            raise LimitExceededError(
                f"request has {len(parts)} media items, over the limit of {limit}"
            )
        for i, part in enumerate(parts):
            where = f"{request.locate(i)} ({part.name})"
            try:
                info = probe(
                    part.source,
                    max_pixels=self.config.max_pixels,
                    max_duration=self.config.max_duration,
                )
            except MediaError as exc:
                raise type(exc)(where, exc.problem) from None
            if (
                info.kind == "video"
                and (info.width or 0) * (info.height or 0) > self.config.max_pixels
            ):
                raise MediaTooLargeError(
                    where,
                    f"{info.width}×{info.height} video frames, over the limit of "
                    f"{self.config.max_pixels:,} pixels",
                )
        return request

    def tokenize(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """vLLM's ``/tokenize`` answer (``count``, ``max_model_len``, ``tokens``,
        ``token_strs``) plus mmtok's: ``position_ids``, ``modality_ids``, ``rope_delta``,
        ``items``, ``modality_totals``; and the count, for the metrics."""
        data, options = split_body(body, TOKENIZE_OPTIONS)
        if options.get("return_token_strs"):
            raise RequestError("return_token_strs: token strings are not available from mmtok")
        request = self.request(data)
        plan = plan_sequence(request, self.profile, self.tokenizer)
        counts = plan.count()
        spans = {(s.modality, s.index): s for s in plan.spans}
        items = []
        for item, part in zip(plan.items, counts.parts, strict=True):
            span = spans[item.kind, item.index]
            features = item.segment.modality == Modality[item.kind.upper()]
            items.append(
                {
                    "part": request.locate(item.part),
                    "kind": item.kind,
                    "index": item.index,
                    "tokens": part.tokens,
                    "feature_tokens": int(features.sum()),
                    "grid": list(item.grid),
                    "start": span.start,
                    "end": span.end,
                }
            )
        count = len(plan.input_ids)
        answer = {
            "count": count,
            "max_model_len": self.config.max_model_len,
            "tokens": plan.input_ids.tolist(),
            "token_strs": None,
            "position_ids": plan.position_ids.tolist(),
            "modality_ids": plan.modality_ids.tolist(),
            "rope_delta": plan.rope_delta,
            "items": items,
            "modality_totals": counts.by_modality,
            "profile": self.profile.name,
            "tokenizer": self.tokenizer.name,
            "warnings": self.warnings,
        }
        return answer, count

    def plan(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """What ``mmtok plan --json`` prints for the body's request, plus ``request``: with
        ``fit``, the fitted body to forward (the posted one, dropped parts removed and
        per-item limits set); and the input tokens, for the metrics."""
        data, raw = split_body(body, PLAN_OPTIONS)
        options = _options(raw)
        context = options.context or self.config.max_model_len
        if context is None:
            raise RequestError("context: not given, and the service has no --max-model-len")
        reserve = options.reserve_output
        if reserve is None:  # the answer's own limit, as the body gives it to vLLM
            reserve = _answer_limit(body)
        policy = options.policy or list(FIT_STEPS)
        if isinstance(policy, str):
            policy = [s.strip() for s in policy.split(",") if s.strip()]
        if options.llm is not None and options.llm not in LLM_PRESETS:
            raise RequestError(
                f"llm: unknown preset {options.llm!r} (expected {', '.join(LLM_PRESETS)})"
            )
        request = self.request(data)
        plan = plan_request(
            request,
            self.profile,
            self.tokenizer,
            context=context,
            reserve_output=reserve,
            fit=options.fit,
            policy=tuple(policy),
            llm=load_llm(options.llm) if options.llm else None,
            limits=Limits(
                options.max_item_tokens, options.max_images, options.max_videos, options.max_audios
            ),
        )
        answer = {**plan.to_json(), "warnings": self.warnings}
        if options.fit:
            forward = {k: v for k, v in body.items() if k not in PLAN_OPTIONS}
            answer["request"] = plan.request.to_body(forward)
        return answer, plan.input_tokens
