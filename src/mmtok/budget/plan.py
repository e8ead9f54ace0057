"""Plan a request against a context limit: per-item counts, checks, cost, optional auto-fit.

Everything here is header-only: media are probed, never decoded, so a serving stack can plan
(and refuse or shrink) a request before any encoder runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mmtok.budget.cost import Cost, estimate, vision_flops
from mmtok.budget.fit import FIT_STEPS, Limits, fit_request
from mmtok.count import feature_tokens
from mmtok.errors import ConfigError
from mmtok.fusion.plan import RequestCount, SequencePlan, plan_sequence
from mmtok.fusion.request import Request, parse_request
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.profiles import ProfileLike, as_profile
from mmtok.profiles.base import Profile
from mmtok.profiles.dims import LLMSpec


@dataclass(frozen=True)
class Check:
    """One check a careful engineer would make, with its verdict and the numbers behind it."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PlanItem:
    """A request item: ``kind`` text/image/video/audio, ``index`` within its kind, its
    expanded ``tokens`` (fences and labels included), ``feature_tokens`` (those receiving
    encoder features, :func:`mmtok.count.feature_tokens`), ``grid`` (t, h, w) encoder
    patches and the per-item ``params`` in effect (after fitting: the applied overrides)."""

    kind: str
    index: int | None
    source: str | None
    tokens: int
    feature_tokens: int = 0
    grid: list[int] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    dropped: bool = False


@dataclass(frozen=True)
class Plan:
    """The verdict on one request; ``request`` is the (possibly fitted) request to encode."""

    profile: str
    context: int
    reserve_output: int
    input_tokens: int
    headroom: int
    fits: bool
    items: tuple[PlanItem, ...]
    checks: tuple[Check, ...]
    cost: Cost
    llm: str
    request: Request
    original_input_tokens: int
    fitted_input_tokens: int | None = None
    fit_steps: tuple[str, ...] = ()
    original_items: tuple[PlanItem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "profile": self.profile,
            "context": self.context,
            "reserve_output": self.reserve_output,
            "input_tokens": self.input_tokens,
            "headroom": self.headroom,
            "fits": self.fits,
            "items": [asdict(i) for i in self.items],
            "checks": [asdict(c) for c in self.checks],
            "cost": {**asdict(self.cost), "total_flops": self.cost.total_flops, "llm": self.llm},
        }
        if self.fitted_input_tokens is not None:
            data["original_input_tokens"] = self.original_input_tokens
            data["fitted_input_tokens"] = self.fitted_input_tokens
            data["fit_steps"] = list(self.fit_steps)
        return data


_OVERRIDES = (
    "min_pixels",
    "max_pixels",
    "max_image_size",
    "max_tiles",
    "do_pan_and_scan",
    "longest_edge",
    "fps",
    "max_frames",
)


def _items(request: Request, seq: SequencePlan) -> tuple[PlanItem, ...]:
    parts = request.media_parts()
    count = seq.count()
    counted = {pc.part: pc for pc in count.parts}
    features = {it.part: feature_tokens(it.detail) for it in seq.items}
    items = [PlanItem("text", None, None, count.text)]
    kind_index: dict[str, int] = {}
    for i, part in enumerate(parts):
        params = {k: v for k in _OVERRIDES if (v := getattr(part, k, None)) is not None}
        pc = counted.get(i)
        if pc is None:
            n = kind_index.get(part.type, 0)
            items.append(
                PlanItem(part.type, n, part.name, 0, grid=None, params=params, dropped=True)
            )
            kind_index[part.type] = n + 1
            continue
        kind_index[part.type] = pc.index + 1
        items.append(
            PlanItem(
                pc.kind, pc.index, pc.source, pc.tokens, features[pc.part], list(pc.grid), params
            )
        )
    return tuple(items)


def _vision_flops(profile: Profile, count: RequestCount) -> int:
    spec = profile.vision
    if spec is None:
        return 0
    # Audio parts run an audio encoder, not the vision tower: only images and videos count.
    grids = (pc.grid for pc in count.parts if pc.kind in ("image", "video"))
    return sum(t * vision_flops(spec, h * w) for t, h, w in grids)


def _checks(
    count: RequestCount, items: tuple[PlanItem, ...], context: int, reserve: int, limits: Limits
) -> tuple[Check, ...]:
    media = [i for i in items if i.kind != "text" and not i.dropped]
    placeholders = len(media)
    expanded = sum(i.tokens for i in media)
    if placeholders:
        one = placeholders == 1
        expansion = (
            f"{placeholders} media placeholder{'' if one else 's'} expand{'s' if one else ''} "
            f"to {expanded:,} tokens, not {placeholders}"
        )
    else:
        expansion = "no media placeholders"
    checks = [
        Check("placeholders counted expanded", True, expansion),
        Check(
            "all items summed",
            sum(i.tokens for i in items) == count.total,
            f"text {count.text:,} + media {expanded:,} = {count.total:,} input tokens",
        ),
        Check(
            "headroom for the answer",
            context - count.total >= reserve,
            f"context {context:,} − input {count.total:,} = {context - count.total:,} "
            f"{'≥' if context - count.total >= reserve else '<'} reserve {reserve:,}",
        ),
    ]
    cap = limits.max_item_tokens
    biggest = max((i.tokens for i in media), default=0)
    checks.append(
        Check(
            "per-item cap",
            cap is None or biggest <= cap,
            f"largest item {biggest:,} tokens" + (f" vs cap {cap:,}" if cap else " (no cap set)"),
        )
    )
    for kind, limit in (
        ("image", limits.max_images),
        ("video", limits.max_videos),
        ("audio", limits.max_audios),
    ):
        n = sum(1 for i in media if i.kind == kind)
        if limit is not None or n:
            checks.append(
                Check(
                    f"{kind} count",
                    limit is None or n <= limit,
                    f"{n} {kind}(s)" + (f", limit {limit}" if limit is not None else ", no limit"),
                )
            )
    return tuple(checks)


def check_budget(context: int, reserve_output: int) -> None:
    """Refuse an impossible budget (:class:`ConfigError`): the context must be positive and
    leave room for at least one input token after the reserved output."""
    if context <= 0:
        raise ConfigError(f"context {context}: must be a positive number of tokens")
    if reserve_output < 0:
        raise ConfigError(f"reserve_output {reserve_output}: must not be negative")
    if reserve_output >= context:
        raise ConfigError(
            f"context {context} must exceed reserve_output {reserve_output} "
            "(room for at least one input token)"
        )


def plan_request(
    request: Request | Mapping[str, Any],
    profile: ProfileLike,
    tokenizer: object = None,
    *,
    context: int,
    reserve_output: int = 0,
    fit: bool = False,
    policy: tuple[str, ...] = FIT_STEPS,
    llm: LLMSpec | None = None,
    limits: Limits | None = None,
    peak_flops: float = 989e12,
    utilisation: float = 0.4,
) -> Plan:
    """Count ``request`` under ``profile`` against ``context`` tokens with ``reserve_output``
    kept for the answer; with ``fit``, shrink it by ``policy`` first when it does not fit.

    Raises :class:`ConfigError` for an impossible budget (reserve ≥ context, non-positive
    context) or accelerator (``peak_flops`` FLOP/s not positive, ``utilisation`` outside
    (0, 1]) and :class:`BudgetError` when fitting cannot succeed (the text alone is too long).
    """
    check_budget(context, reserve_output)
    if not peak_flops > 0:
        raise ConfigError(f"peak FLOP/s {peak_flops:g}: must be positive")
    if not 0 < utilisation <= 1:
        raise ConfigError(f"utilisation {utilisation:g}: must be in (0, 1]")
    profile = as_profile(profile)
    request = parse_request(request)
    limits = limits or Limits()
    spec = llm or profile.llm
    tok = resolve_tokenizer(profile, tokenizer)  # type: ignore[arg-type]
    # The sequence plan (headers only) rather than bare counts: its items' own plans give
    # each item's feature tokens.
    seq = plan_sequence(request, profile, tok)
    original = seq.count()
    steps: tuple[str, ...] = ()
    fitted = None
    original_items = _items(request, seq)
    if fit:
        result = fit_request(
            request, profile, tok, context - reserve_output, policy=policy, limits=limits
        )
        request, steps = result.request, result.steps
        if result.changed:
            seq = plan_sequence(request, profile, tok)
        fitted = result.count.total
    count = seq.count()
    items = _items(request, seq)
    checks = _checks(count, items, context, reserve_output, limits)
    cost = estimate(
        spec,
        count.total,
        vision_flops=_vision_flops(profile, count),
        peak_flops=peak_flops,
        utilisation=utilisation,
    )
    return Plan(
        profile=profile.name,
        context=context,
        reserve_output=reserve_output,
        input_tokens=count.total,
        headroom=context - count.total,
        fits=all(c.passed for c in checks),
        items=items,
        checks=checks,
        cost=cost,
        llm=spec.name,
        request=request,
        original_input_tokens=original.total,
        fitted_input_tokens=fitted,
        fit_steps=steps,
        original_items=original_items,
    )


__all__ = ["Check", "Limits", "Plan", "PlanItem", "check_budget", "plan_request"]
