"""The service's logic, apart from HTTP: a body (parsed JSON) in, a JSON-ready answer out.

Built once per process: the profile and tokenizer load at start, so a request costs only its
own work — decode the ``data:`` URLs, plan the sequence (every media header probed once,
within the limits; the text tokenized; ids and positions laid out). Nothing is decoded into
pixels or samples.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, StrictBool, ValidationError

from mmtok.budget.cost import LLM_PRESETS, load_llm
from mmtok.budget.fit import FIT_STEPS
from mmtok.budget.plan import Limits as PlanLimits
from mmtok.budget.plan import plan_request
from mmtok.errors import ConfigError, LimitExceededError, MediaError, RequestError
from mmtok.fusion import Modality, Request, parse_request, plan_sequence, resolve_tokenizer
from mmtok.limits import Limits
from mmtok.media.source import Source
from mmtok.probe import probe
from mmtok.profiles import get_profile
from mmtok.serve.body import split_body
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


def _probe(source: Source, limits: Limits) -> None:
    probe(source, max_pixels=limits.max_pixels, max_duration=limits.max_duration)


def _fails_alike(source: Source, exc: MediaError, limits: Limits) -> bool:
    """Whether probing ``source`` within ``limits`` raises what ``exc`` says."""
    try:
        _probe(source, limits)
    except MediaError as again:
        return type(again) is type(exc) and again.problem == exc.problem
    return False


def part_names(request: Request) -> list[str]:
    """How errors name each media part: ``messages[0].content[1] (<bytes>)``."""
    parts = request.media_parts()
    return [
        f"{where} ({part.name})" for where, part in zip(request.locations(), parts, strict=True)
    ]


def locate(exc: MediaError, request: Request, limits: Limits) -> MediaError:
    """``exc``, raised while planning ``request``, naming the part it is about
    (``messages[0].content[1] (<bytes>): …``). Planning names an item by its source alone —
    ``<bytes>`` for every ``data:`` URL — so the part is the only one of that name, or else
    the first of them whose header fails the same way again (probed anew: this is the error
    path). ``exc`` unchanged when it already names a part or none can be told."""
    parts, names = request.media_parts(), part_names(request)
    if exc.source in names:
        return exc
    same = [i for i, part in enumerate(parts) if part.name == exc.source]
    if len(same) > 1:
        first = next((i for i in same if _fails_alike(parts[i].source, exc, limits)), None)
        same = [] if first is None else [first]
    if len(same) != 1:
        return exc
    return type(exc)(names[same[0]], exc.problem)


class Service:
    """One profile and tokenizer, answering ``/tokenize`` and ``/v1/plan`` bodies."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        # What one item may claim in its header (refused before any decoding).
        self.limits = Limits(max_pixels=config.max_pixels, max_duration=config.max_duration)
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
        """Validate a request body (paths confined to the media root), at most
        ``max_media_items`` media parts."""
        root = self.media_root
        request = parse_request(data, media_root=root, local_files=root is not None)
        count, limit = len(request.media_parts()), self.config.max_media_items
        if count > limit:
            raise LimitExceededError(f"request has {count} media items, over the limit of {limit}")
        return request

    @contextmanager
    def naming_parts(self, request: Request) -> Iterator[None]:
        """Media errors raised inside name the request part they are about."""
        try:
            yield
        except MediaError as exc:
            raise locate(exc, request, self.limits) from None

    def admit(self, request: Request) -> None:
        """Probe every media header within the limits (errors name the part). For
        ``/v1/plan`` only: :func:`plan_request` plans under the default limits, while
        ``/tokenize`` hands :attr:`limits` to :func:`plan_sequence`, which probes each
        header once."""
        for name, part in zip(part_names(request), request.media_parts(), strict=True):
            try:
                _probe(part.source, self.limits)
            except MediaError as exc:
                raise type(exc)(name, exc.problem) from None

    def token_strs(self, ids: list[int]) -> list[str]:
        """Each token as its vocabulary writes it (vLLM's ``token_strs``), or a
        :class:`RequestError` when the tokenizer keeps no such table."""
        try:
            return self.tokenizer.token_strs(ids)
        except ConfigError as exc:
            raise RequestError(f"return_token_strs: {exc}") from None

    def tokenize(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """vLLM's ``/tokenize`` answer (``count``, ``max_model_len``, ``tokens``,
        ``token_strs``) plus mmtok's: ``position_ids``, ``modality_ids``, ``rope_delta``,
        ``items``, ``modality_totals``; and the count, for the metrics."""
        data, options = split_body(body, TOKENIZE_OPTIONS)
        strs = options.get("return_token_strs", False)
        if type(strs) is not bool:
            raise RequestError(f"return_token_strs: {strs!r} is not true or false")
        request = self.request(data)
        with self.naming_parts(request):
            plan = plan_sequence(request, self.profile, self.tokenizer, limits=self.limits)
        counts = plan.count()
        spans = {(s.modality, s.index): s for s in plan.spans}
        locations = request.locations()
        items = []
        for item, part in zip(plan.items, counts.parts, strict=True):
            span = spans[item.kind, item.index]
            features = item.segment.modality == Modality[item.kind.upper()]
            items.append(
                {
                    "part": locations[item.part],
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
        tokens = plan.input_ids.tolist()
        answer = {
            "count": count,
            "max_model_len": self.config.max_model_len,
            "tokens": tokens,
            "token_strs": self.token_strs(tokens) if strs else None,
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
        self.admit(request)
        with self.naming_parts(request):
            plan = plan_request(
                request,
                self.profile,
                self.tokenizer,
                context=context,
                reserve_output=reserve,
                fit=options.fit,
                policy=tuple(policy),
                llm=load_llm(options.llm) if options.llm else None,
                limits=PlanLimits(
                    options.max_item_tokens,
                    options.max_images,
                    options.max_videos,
                    options.max_audios,
                ),
            )
        answer = {**plan.to_json(), "warnings": self.warnings}
        if options.fit:
            forward = {k: v for k, v in body.items() if k not in PLAN_OPTIONS}
            answer["request"] = plan.request.to_body(forward)
        return answer, plan.input_tokens
