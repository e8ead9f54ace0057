"""Expanded token counts of media files from their headers, one row per file.

No pixels or samples are decoded: an image's plan needs only its display size, a video's
its duration, frame rate and size, an audio file's its duration. A bad file yields a row
with its error instead of stopping the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mmtok.audio.plan import AudioPlan, count_audio
from mmtok.errors import MmtokError, describe
from mmtok.image.policies import ImagePlan
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, source_name
from mmtok.probe import probe
from mmtok.profiles import ProfileLike, as_profile
from mmtok.profiles.base import Profile
from mmtok.video.plan import VideoPlan, count_video, timestamp_style
from mmtok.video.sampling import sampling_for

if TYPE_CHECKING:  # the codec and VQ modules load only when such a folder is counted
    from mmtok.discrete.audio_codecs import AudioCodec
    from mmtok.discrete.families import VQFolder


@dataclass(frozen=True)
class CountOptions:
    """Options that change counts of time media (video sampling, audio limits)."""

    sampling: str | None = None  # fps | uniform | keyframes | scenes (None: the profile's)
    fps: float | None = None  # frames per second to sample (profile default when None)
    max_frames: int | None = None  # upper bound on sampled frames
    num_frames: int | None = None  # frames for uniform sampling
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS  # decompression-bomb limit
    max_duration: float | None = DEFAULT_MAX_DURATION  # seconds; longer video/audio is refused
    # Text tokenizer for the timestamp texts some families write into a video (a path, or
    # None: the profile's own, else the built-in stand-in and the row says "approximate").
    tokenizer: str | None = None


@dataclass(frozen=True)
class CountRow:
    """One file's count: ``resized`` is ``[height, width]`` and ``grid`` ``[t, h, w]`` in
    encoder patches (see ``ImagePlan``); ``tokens`` is everything the item adds to the
    sequence, ``feature_tokens`` how many of those receive encoder features
    (:func:`feature_tokens`); both ``None`` when ``error`` is set."""

    path: str
    kind: str | None
    width: int | None = None
    height: int | None = None
    resized: list[int] | None = None
    grid: list[int] | None = None
    tokens: int | None = None
    feature_tokens: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence_tokens(self) -> int | None:
        """What the item takes in a request's sequence: ``tokens`` plus the fences the chat
        template writes around it (``fence_tokens``) — the count ``plan`` and ``density`` use."""
        if self.tokens is None:
            return None
        return self.tokens + int(self.extra.get("fence_tokens") or 0)

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        extra = row.pop("extra")
        row.update(extra)
        row["sequence_tokens"] = self.sequence_tokens
        return row


def feature_tokens(plan: ImagePlan | VideoPlan | AudioPlan) -> int:
    """How many of an item's tokens receive encoder features: its image, video or audio
    placeholders in ``input_ids`` (breaks, separators, timestamp texts and fences excluded;
    LLaVA-NeXT's and LLaVA-OneVision video's newline positions included, the model writes its
    newline feature there)."""
    if isinstance(plan, ImagePlan):
        return plan.feature_tokens
    if isinstance(plan, VideoPlan):
        return plan.grid[0] * plan.frame_tokens + plan.tail_tokens
    return sum(plan.window_tokens)


def _image_row(info: MediaInfo, profile: Profile) -> CountRow:
    assert info.width is not None and info.height is not None
    plan = profile.plan_image(info.height, info.width, source=info.source)
    extra: dict[str, Any] = {
        "format": info.format,
        "token_grid": list(plan.token_grid),
        "fence_tokens": plan.fence_tokens,
    }
    if plan.canvas is not None:
        extra["canvas"] = list(plan.canvas)
    return CountRow(
        path=info.source,
        kind="image",
        width=info.width,
        height=info.height,
        resized=list(plan.resized),
        grid=list(plan.grid),
        tokens=plan.tokens,
        feature_tokens=feature_tokens(plan),
        extra=extra,
    )


def _timed_row(
    info: MediaInfo, profile: Profile, options: CountOptions, source: Source
) -> CountRow:
    """A video row (sampled frame indices and timestamps included) or an audio row.

    Only ``scenes`` sampling decodes anything (one low-resolution pass); the row's
    ``decoded`` field says what was read: ``header``, ``packets`` or ``low-res pass``.
    """
    if info.kind == "audio":
        _, plan = count_audio(source, profile, info=info)
        return CountRow(
            path=info.source,
            kind="audio",
            tokens=plan.tokens,
            feature_tokens=feature_tokens(plan),
            extra={
                "format": info.format,
                "duration": info.duration,
                "sample_rate": info.sample_rate,
                "windows": len(plan.windows),
                "fence_tokens": plan.fence_tokens,
            },
        )
    sampling = sampling_for(
        profile,
        options.sampling,
        fps=options.fps,
        num_frames=options.num_frames,
        max_frames=options.max_frames,
    )
    stamps, exact = _timestamp_counter(profile, options.tokenizer)
    _, selection, plan = count_video(source, profile, sampling, info=info, timestamp_tokens=stamps)
    extra = {} if exact else {"text_tokens": "approximate (built-in stand-in tokenizer)"}
    return CountRow(
        path=info.source,
        kind="video",
        width=info.width,
        height=info.height,
        resized=list(plan.resized),
        grid=list(plan.grid),
        tokens=plan.tokens,
        feature_tokens=feature_tokens(plan),
        extra={
            "format": info.format,
            "duration": info.duration,
            "fps": info.fps,
            "frame_count": selection.total_frames,
            "sampled_frames": list(selection.indices),
            "timestamps": list(selection.timestamps),
            "decoded": selection.decoded,
            "seconds_per_grid": plan.seconds_per_grid,
            "fence_tokens": plan.fence_tokens,
            "rotation": info.rotation,
            **extra,
        },
    )


@lru_cache(maxsize=8)
def _timestamp_counter(
    profile: Profile, tokenizer: str | None
) -> tuple[Callable[[str], int] | None, bool]:
    """Tokens of a timestamp text, for families that write one per frame or temporal patch;
    and whether that count is exact (the family's own tokenizer) or the stand-in's. Resolved
    once per profile and tokenizer, not once per video of a ``count`` run."""
    if timestamp_style(profile) is None:
        return None, True
    from mmtok.fusion.tokenizer import TokenizerFallbackWarning, resolve_tokenizer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TokenizerFallbackWarning)
        tok = resolve_tokenizer(profile, tokenizer)
    exact = not any(issubclass(w.category, TokenizerFallbackWarning) for w in caught)
    return (lambda text: len(tok.encode(text))), exact


def count_info(
    info: MediaInfo, profile: Profile, options: CountOptions, source: Source | None = None
) -> CountRow:
    """The count row of an already probed file; ``source`` (path or bytes) is what was probed
    (default: ``info.source``, the path), read again where time media need their packets."""
    if info.kind == "image":
        return _image_row(info, profile)
    return _timed_row(info, profile, options, info.source if source is None else source)


def count_file(
    source: Source, profile: ProfileLike, options: CountOptions | None = None
) -> CountRow:
    """Probe ``source`` (headers only) and count its tokens under ``profile`` (a profile, its
    name or a model folder).

    Never raises for a bad file: the row carries the error message instead. An unknown
    profile name raises :class:`~mmtok.errors.ConfigError`.
    """
    profile = as_profile(profile)
    options = options or CountOptions()
    try:
        info = probe(source, max_pixels=options.max_pixels, max_duration=options.max_duration)
        if info.kind not in profile.modalities:
            return CountRow(
                path=info.source,
                kind=info.kind,
                width=info.width,
                height=info.height,
                error=f"{info.source}: profile {profile.name} does not accept {info.kind} input",
            )
        return count_info(info, profile, options, source)
    except Exception as exc:  # one bad file must not stop the others
        return error_row(source, exc)


def error_row(source: Source, exc: Exception) -> CountRow:
    """The row of a file that could not be counted: a typed error's message, or, for any other
    exception (a bug; tests/test_fuzz.py calls the probes and counters directly, so such bugs
    still fail the suite), an ``internal error`` naming the file."""
    name = source_name(source)
    if isinstance(exc, MmtokError):
        return CountRow(path=name, kind=None, error=str(exc))
    problem = f"internal error ({type(exc).__name__}: {describe(exc)})"
    return CountRow(path=name, kind=None, error=f"{name}: {problem}")


def count_codec_file(
    source: Source, codec: AudioCodec, options: CountOptions | None = None
) -> CountRow:
    """The count row of an audio file (or a video's audio track) in a neural codec, from its
    header and packets: ``frames``, ``codebooks``, ``tokens`` (= frames × codebooks),
    ``bitrate`` (bits/s). Never raises for a bad file: the row carries the error."""
    from mmtok.discrete.audio_codecs import count_codec

    options = options or CountOptions()
    try:
        info = probe(source, max_pixels=options.max_pixels, max_duration=options.max_duration)
        if info.kind == "image":
            return CountRow(path=info.source, kind="image",
                            error=f"{info.source}: a codec takes audio, not an image")  # fmt: skip
        _, count = count_codec(source, codec, info=info)
    except Exception as exc:  # one bad file must not stop the others
        return error_row(source, exc)
    return CountRow(
        path=info.source,
        kind="audio",
        tokens=count.tokens,
        feature_tokens=count.tokens,
        extra={
            "format": info.format,
            "duration": info.duration,
            "sample_rate": info.sample_rate,
            "codec": codec.family,
            "codec_rate": codec.spec.sample_rate,
            "frames": count.frames,
            "codebooks": count.codebooks,
            "bitrate": count.bitrate,
            "tokens_per_second": count.tokens_per_second,
        },
    )


def count_vq_file(source: Source, vq: VQFolder, options: CountOptions | None = None) -> CountRow:
    """The count row of an image in a VQ tokenizer (Chameleon, Emu3, Janus), from its header:
    ``resized`` the pixels the VQ-VAE sees, ``grid`` ``[rows, cols]`` of codes, ``tokens``
    the image's whole span (begin/end/row tokens, Emu3's size text), ``feature_tokens`` its
    code ids. Never raises for a bad file: the row carries the error."""
    from mmtok.discrete.families import code_grid, image_span, resized_size

    options = options or CountOptions()
    try:
        info = probe(source, max_pixels=options.max_pixels, max_duration=options.max_duration)
        if info.kind != "image" or info.height is None or info.width is None:
            error = f"{info.source}: a VQ image tokenizer takes images, not {info.kind}"
            return CountRow(path=info.source, kind=info.kind, error=error)
        resized = resized_size(vq, info.height, info.width, info.source)
        rows, cols = code_grid(vq, info.height, info.width, info.source)
        tokens = len(image_span(vq, rows, cols).ids)
    except Exception as exc:  # one bad file must not stop the others
        return error_row(source, exc)
    return CountRow(
        path=info.source,
        kind="image",
        width=info.width,
        height=info.height,
        resized=list(resized),
        grid=[rows, cols],
        tokens=tokens,
        feature_tokens=rows * cols,
        extra={
            "format": info.format,
            "family": vq.family.name,
            "codebook_size": vq.codebook_size,
        },
    )
