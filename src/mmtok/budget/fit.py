"""Auto-fit: shrink an over-budget request by an ordered policy, fairly across items.

The result is the same request with per-item overrides set (``max_pixels`` on images and
video frames, ``fps`` on videos, ``drop`` as a last resort), so the processor applies exactly
what was planned: ``len(encode(fitted).input_ids) == count_request(fitted).total``.

Policy steps, in the default order:

1. ``resolution`` — every image (and video frame) gets the same fraction ``s`` of its current
   pixel area as its ``max_pixels`` (never below the profile's minimum; the profile's grid
   factor still rounds the size) — or, for max-side profiles (Pixtral), of its longest side as
   its ``max_image_size`` — the largest ``s`` that fits found by bisection; profiles without
   a pixel budget use their detail knob instead (:func:`_detail_knob`): pan-and-scan off
   (Gemma 3), the largest tile cap ``max_tiles`` that fits (Llama 4, LLaVA-OneVision), or
   the largest ``longest_edge`` (a multiple of the sub-image) that fits (Idefics3, SmolVLM);
2. ``frames`` — every video's sampling rate is scaled by the same factor (the profile's
   ``min_frames`` bound still holds), largest factor that fits;
3. ``compression`` — stronger compression where the profile has a knob for it (none of the
   built-in profiles has one: the step is skipped and said so);
4. ``drop`` — media items are dropped from the last one back, and steps 1–3 re-run on the
   remaining items so they use the room the drop freed.

No step shrinks an image (or a video's temporal patch) below the profile's quality floor
(``Profile.fit_min_tokens``): an item that would have to go below it is dropped instead. Before
the steps, :class:`Limits` are met: items past a per-kind limit are dropped (last first), and an
item above the per-item cap is shrunk to it (dropped when that would cross the floor).

Only headers are read (``count_request`` probes); nothing is decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mmtok.errors import BudgetError, ConfigError
from mmtok.fusion.plan import RequestCount, count_request
from mmtok.fusion.request import ImagePart, Request, VideoPart
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.image.policies import MaxSide, PanScan, SmartResize, SplitGrid
from mmtok.profiles.base import Profile

FIT_STEPS: tuple[str, ...] = ("resolution", "frames", "compression", "drop")
_BISECT_ROUNDS = 24  # scale resolution to 2⁻²⁴ — finer than any pixel-grid step

Counter = Callable[[Request], RequestCount]


@dataclass(frozen=True)
class Limits:
    """Optional per-request limits (``None``: unlimited), like a server's
    ``limit_mm_per_prompt`` and a per-item token cap."""

    max_item_tokens: int | None = None
    max_images: int | None = None
    max_videos: int | None = None
    max_audios: int | None = None


@dataclass(frozen=True)
class FitResult:
    """The fitted request, its exact count, and what each step did (human-readable)."""

    request: Request
    count: RequestCount
    steps: tuple[str, ...] = field(default=())
    changed: bool = False


def _sizes(request: Request, count: RequestCount, profile: Profile) -> dict[int, int]:
    """What the resolution knob scales, per kept image/video part (by media-part index): the
    pixel area per frame (dynamic-resolution profiles) or the longest side (max-side ones)."""
    parts = request.media_parts()
    p = profile.patch_size
    sizes = {}
    for pc in count.parts:
        if isinstance(parts[pc.part], ImagePart | VideoPart):
            h, w = pc.grid[1] * p, pc.grid[2] * p
            sizes[pc.part] = h * w if isinstance(profile.resize, SmartResize) else max(h, w)
    return sizes


def _with_resolution(
    request: Request, sizes: dict[int, int], scale: float, profile: Profile
) -> Request:
    parts = request.media_parts()
    policy = profile.resize
    for index, size in sizes.items():
        part = parts[index]
        if isinstance(policy, MaxSide):
            side = max(profile.patch_size * profile.merge_size, int(size * scale))
            request = request.with_media(index, max_image_size=side)
            continue
        assert isinstance(policy, SmartResize)
        if isinstance(part, VideoPart):
            floor = profile.video_min_pixels or policy.min_pixels
        else:
            floor = part.min_pixels or policy.min_pixels
        request = request.with_media(index, max_pixels=max(floor, int(size * scale)))
    return request


def _with_fps(request: Request, factor: float, profile: Profile) -> Request:
    for index, part in enumerate(request.media_parts()):
        if isinstance(part, VideoPart) and not part.drop:
            fps = (part.fps or profile.video_fps) * factor
            request = request.with_media(index, fps=max(fps, 1e-3))
    return request


def _bisect(
    build: Callable[[float], Request], measure: Callable[[Request], int], budget: int
) -> Request | None:
    """The request ``build(x)`` for the largest ``x`` in ``[0, 1]`` whose ``measure`` (tokens)
    fits ``budget``, or ``None`` if even ``x = 0`` does not fit."""
    best = build(0.0)
    if measure(best) > budget:
        return None
    lo, hi = 0.0, 1.0
    for _ in range(_BISECT_ROUNDS):
        mid = (lo + hi) / 2
        candidate = build(mid)
        if measure(candidate) <= budget:
            lo, best = mid, candidate
        else:
            hi = mid
    return best


def _per_patch(count: RequestCount) -> dict[int, float]:
    """Tokens per image, or per temporal patch of a video, by media-part index."""
    return {pc.part: pc.tokens / max(pc.grid[0], 1) for pc in count.parts if pc.kind != "audio"}


def _below_floor(count: RequestCount, original: dict[int, float], floor: int) -> list[int]:
    """Parts shrunk below ``floor`` tokens (per image or temporal patch); an item smaller than
    the floor to begin with may stay at its own size."""
    return [i for i, n in _per_patch(count).items() if n < min(floor, original.get(i, 0))]


def _resizable(profile: Profile) -> bool:
    return isinstance(profile.resize, SmartResize | MaxSide)


def _detail_knob(profile: Profile) -> tuple[str, tuple[int, ...]] | None:
    """The per-image option that trades detail for tokens where the resize rule has no pixel
    budget, and its values from most to least detail: pan-and-scan off (Gemma 3), fewer tiles
    (a rule with a ``max_tiles`` cap: Llama 4, LLaVA-OneVision's ``anyres_max_N``), a shorter
    longest edge in whole sub-images (Idefics3 / SmolVLM's ``size.longest_edge``)."""
    policy = profile.resize
    if isinstance(policy, PanScan):
        return "do_pan_and_scan", (False,)  # a bool is an int: off is 0
    if isinstance(policy, SplitGrid):
        sides = range(policy.longest_edge // policy.tile - 1, 0, -1)
        return ("longest_edge", tuple(k * policy.tile for k in sides)) if policy.split else None
    tiles, low = getattr(policy, "max_tiles", None), getattr(policy, "min_tiles", 1)
    if _resizable(profile) or not tiles or tiles <= low:
        return None
    return "max_tiles", tuple(range(tiles - 1, low - 1, -1))


def _with_detail(request: Request, option: str, value: int) -> Request:
    """Every kept image with ``option`` set to ``value`` (a tile cap or edge never raised)."""
    for index, part in enumerate(request.media_parts()):
        if isinstance(part, ImagePart) and not part.drop:
            own = getattr(part, option) if option in ("max_tiles", "longest_edge") else None
            new = value if own is None else min(own, value)
            request = request.with_media(index, **{option: new})
    return request


def _tokens_of(index: int, counter: Counter) -> Callable[[Request], int]:
    def measure(request: Request) -> int:
        return sum(pc.tokens for pc in counter(request).parts if pc.part == index)

    return measure


def _within_limits(
    request: Request, profile: Profile, counter: Counter, limits: Limits, policy: Sequence[str]
) -> tuple[Request, list[str]]:
    """``request`` with ``limits`` met: items past a per-kind limit dropped (last first), and
    items above the per-item cap shrunk to it by resolution — or dropped when the policy has
    no resolution step, the profile no resolution knob, or the cap is below the quality floor.
    """
    notes: list[str] = []
    for kind, limit in (
        ("image", limits.max_images),
        ("video", limits.max_videos),
        ("audio", limits.max_audios),
    ):
        parts = request.media_parts()
        live = [i for i, p in enumerate(parts) if p.type == kind and not p.drop]
        extra = live[limit:] if limit is not None else []
        for index in extra:
            request = request.with_media(index, drop=True)
        if extra:
            names = ", ".join(parts[i].name for i in extra)
            notes.append(f"limit: {len(extra)} {kind}(s) dropped, at most {limit} ({names})")
    cap = limits.max_item_tokens
    if cap is None:
        return request, notes
    count = counter(request)
    original = _per_patch(count)
    for pc in count.parts:
        if pc.tokens <= cap:
            continue
        shrunk = None
        if pc.kind != "audio" and "resolution" in policy and _resizable(profile):
            sizes = {pc.part: _sizes(request, count, profile)[pc.part]}
            base = request

            def build(s: float, base: Request = base, sizes: dict[int, int] = sizes) -> Request:
                return _with_resolution(base, sizes, s, profile)

            shrunk = _bisect(build, _tokens_of(pc.part, counter), cap)
            if shrunk is not None and _below_floor(
                counter(shrunk), original, profile.fit_min_tokens
            ):
                shrunk = None
        name = request.media_parts()[pc.part].name
        if shrunk is not None:
            request = shrunk
            notes.append(f"limit: {name} shrunk to at most {cap:,} tokens")
        else:
            request = request.with_media(pc.part, drop=True)
            notes.append(f"limit: {name} dropped (cannot be shrunk to {cap:,} tokens)")
    return request, notes


def _shrink(
    request: Request,
    profile: Profile,
    counter: Counter,
    budget: int,
    steps: Sequence[str],
    original: dict[int, float],
) -> tuple[Request | None, list[str]]:
    """Apply the non-dropping steps in order; the first request that fits, with notes. ``None``
    when none fits, or fitting would shrink an item below the quality floor (``original``: each
    item's tokens per image or temporal patch before fitting)."""
    notes: list[str] = []
    current = request

    def total(r: Request) -> int:
        return counter(r).total

    for step in steps:
        count = counter(current)
        if count.total <= budget:
            return current, notes
        if step == "resolution" and (knob := _detail_knob(profile)) is not None:
            option, values = knob
            for value in values:
                current = _with_detail(current, option, value)
                if fits := counter(current).total <= budget:
                    break
            if _below_floor(counter(current), original, profile.fit_min_tokens):
                notes.append(
                    f"resolution: would shrink an item below {profile.name}'s quality floor "
                    f"of {profile.fit_min_tokens} tokens"
                )
                return None, notes
            least = "" if fits else " (the least detail)"
            notes.append(f"resolution: {option}={value!r} on every image{least}")
        elif step == "resolution":
            if not _resizable(profile):
                notes.append(f"resolution: fixed by {profile.name}'s resize rule, skipped")
                continue
            sizes = _sizes(current, count, profile)
            base = current

            def build(s: float, base: Request = base, sizes: dict[int, int] = sizes) -> Request:
                return _with_resolution(base, sizes, s, profile)

            fitted = _bisect(build, total, budget)
            current = build(0.0) if fitted is None else fitted
            if _below_floor(counter(current), original, profile.fit_min_tokens):
                notes.append(
                    f"resolution: would shrink an item below {profile.name}'s quality floor "
                    f"of {profile.fit_min_tokens} tokens"
                )
                return None, notes
            if fitted is not None:
                notes.append("resolution: pixel budgets scaled to fit")
                return fitted, notes
            notes.append("resolution: every item at the profile's minimum")
        elif step == "frames":
            if not any(isinstance(p, VideoPart) and not p.drop for p in current.media_parts()):
                continue
            base = current
            fitted = _bisect(lambda f, base=base: _with_fps(base, f, profile), total, budget)
            if fitted is not None:
                notes.append("frames: video sampling rates scaled to fit")
                return fitted, notes
            current = _with_fps(base, 0.0, profile)
            notes.append("frames: every video at its minimum frame count")
        elif step == "compression":
            notes.append(f"compression: {profile.name} has no compression setting, skipped")
    return (current, notes) if counter(current).total <= budget else (None, notes)


def fit_request(
    request: Request,
    profile: Profile,
    tokenizer: object,
    budget: int,
    *,
    policy: Sequence[str] = FIT_STEPS,
    limits: Limits | None = None,
) -> FitResult:
    """The request shrunk until its expanded length is at most ``budget`` tokens and it meets
    ``limits``.

    A request that already fits (and meets the limits) is returned unchanged. Raises
    :class:`BudgetError` when even the text alone (every media item dropped) exceeds the
    budget, or when ``drop`` is not in the policy and the other steps cannot fit it.
    """
    unknown = [s for s in policy if s not in FIT_STEPS]
    if unknown:
        raise ConfigError(f"unknown fit step(s) {unknown}: expected {', '.join(FIT_STEPS)}")

    tok = resolve_tokenizer(profile, tokenizer)  # type: ignore[arg-type]

    def counter(r: Request) -> RequestCount:
        return count_request(r, profile, tok)

    original = counter(request)
    limited, limit_notes = _within_limits(request, profile, counter, limits or Limits(), policy)
    if not limit_notes and original.total <= budget:
        return FitResult(request, original)
    if counter(limited).total <= budget:
        return FitResult(limited, counter(limited), tuple(limit_notes), changed=True)
    shrink_steps = [s for s in policy if s != "drop"]
    media = limited.media_parts()
    live = [i for i, p in enumerate(media) if not p.drop]
    sizes = _per_patch(original)
    max_drops = len(live) if "drop" in policy else 0
    tried: list[str] = []  # why the steps alone could not fit it, for the report
    for dropped in range(max_drops + 1):
        candidate = limited
        gone = live[len(live) - dropped :]
        for index in gone:
            candidate = candidate.with_media(index, drop=True)
        fitted, notes = _shrink(candidate, profile, counter, budget, shrink_steps, sizes)
        if fitted is not None:
            if dropped:
                names = ", ".join(media[i].name for i in gone)
                notes = [*tried, f"drop: {dropped} item(s) dropped, last first ({names})", *notes]
            steps = (*limit_notes, *notes)
            return FitResult(fitted, counter(fitted), steps, changed=True)
        tried = tried or notes
    text_only = counter(candidate).total if max_drops else None
    if text_only is not None and text_only > budget:
        raise BudgetError(
            f"the text alone is {text_only:,} tokens, above the budget of {budget:,} "
            "(context minus reserved output): no media setting can fit it"
        )
    raise BudgetError(
        f"request is {original.total:,} tokens; the policy {list(policy)} cannot bring it "
        f"under {budget:,} (add 'drop' to allow dropping items)"
    )
