"""Token density of a profile: tokens per image by resolution, per second of video and audio.

Computed from the profile's real rules (the same plans counting and encoding use), not from
rules of thumb, so the table answers "what does a 1080p frame cost in *this* model".
"""

from __future__ import annotations

import warnings
from contextlib import suppress
from dataclasses import dataclass

from mmtok.audio.plan import plan_audio
from mmtok.discrete.audio_codecs import AudioCodec, codec_count
from mmtok.errors import MmtokError
from mmtok.profiles import ProfileLike, as_profile
from mmtok.video.plan import plan_video
from mmtok.video.sampling import header_indices, sampling_for

IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (224, 224),
    (336, 336),
    (512, 512),
    (1024, 1024),
    (1280, 720),
    (1920, 1080),
    (3840, 2160),
)
VIDEO_SIZES: tuple[tuple[int, int], ...] = ((640, 360), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class DensityRow:
    """One line of the density table: ``tokens`` for ``what`` (fences included), and
    ``per_second`` for time media (tokens per second of media)."""

    kind: str
    what: str
    tokens: int
    per_second: float | None = None


def image_density(profile: ProfileLike) -> list[DensityRow]:
    """Tokens of one image at common resolutions (``width×height``)."""
    profile = as_profile(profile)
    if "image" not in profile.modalities:
        return []
    rows = []
    for w, h in IMAGE_SIZES:
        plan = profile.plan_image(h, w)
        rows.append(DensityRow("image", f"{w}×{h}", plan.tokens + plan.fence_tokens))
    return rows


def video_density(
    profile: ProfileLike, seconds: float = 60.0, video_fps: float = 30.0
) -> list[DensityRow]:
    """Tokens of a ``seconds``-long clip at ``video_fps`` under the profile's default
    sampling (fps, or uniform frames), per size, and the resulting tokens per second of video."""
    profile = as_profile(profile)
    if "video" not in profile.modalities:
        return []
    sampling = sampling_for(profile)
    total = round(seconds * video_fps)
    indices = header_indices(total, video_fps, sampling)
    n = len(indices)
    rows = []
    for w, h in VIDEO_SIZES:
        plan = plan_video(profile, h, w, indices, total, video_fps)
        tokens = plan.tokens + plan.fence_tokens
        how = "uniformly" if sampling.method == "uniform" else f"@ {sampling.fps:g} fps"
        what = f"{w}×{h}, {seconds:g} s {how} sampled ({n} frames)"
        rows.append(DensityRow("video", what, tokens, tokens / seconds))
    return rows


AUDIO_SECONDS: tuple[float, ...] = (1.0, 30.0, 60.0)


def audio_density(
    profile: ProfileLike, seconds: float | tuple[float, ...] = AUDIO_SECONDS
) -> list[DensityRow]:
    """Tokens of audio clips ``seconds`` long (one length or several) under the profile's
    encoder (its window rule: a truncating family stops growing past its window) and tokens
    per second."""
    profile = as_profile(profile)
    if "audio" not in profile.modalities:
        return []
    rate = profile.audio_encoder.mel.sample_rate
    rows = []
    for s in seconds if isinstance(seconds, tuple) else (seconds,):
        plan = plan_audio(round(s * rate), profile)
        tokens = plan.tokens + plan.fence_tokens
        rows.append(DensityRow("audio", f"{s:g} s", tokens, tokens / s))
    return rows


def codec_density(codec: AudioCodec, seconds: float = 60.0) -> list[DensityRow]:
    """Tokens of ``seconds`` of audio in a neural codec at its depth, and tokens per second."""
    count = codec_count(round(seconds * codec.spec.sample_rate), codec.spec)
    what = (f"{seconds:g} s, {count.codebooks} codebooks × {count.frames / seconds:g} frames/s, "
            f"{count.bitrate / 1000:.2f} kbps")  # fmt: skip
    return [DensityRow("codec", what, count.tokens, count.tokens / seconds)]


# About 150 words a minute of English: the text a second of speech carries (~15 characters).
SPEECH_TEXT = (
    "The quick brown fox jumps over the lazy dog while the band plays on the old pier, "
    "and everyone on the beach turns to listen to the music drifting across the water."
)
SPEECH_SECONDS = len(SPEECH_TEXT) / 15.0


@dataclass(frozen=True)
class ModalityDensity:
    """One profile's token density per modality: ``text`` tokens per second of read speech
    (its tokenizer over :data:`SPEECH_TEXT`), one 1024² ``image``, ``audio`` and ``video``
    (1280×720 at the profile's sampling) tokens per second; ``None`` where it lacks one."""

    profile: str
    text: float
    image: int | None
    audio: float | None
    video: float | None


def compare_density(profiles: list[ProfileLike]) -> list[ModalityDensity]:
    """The token-density-per-modality table for several profiles (text / image / audio /
    video), from the same rules counting uses."""
    from mmtok.fusion.tokenizer import resolve_tokenizer

    out = []
    for p in profiles:
        profile = as_profile(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the stand-in tokenizer is fine for a rate
            text = len(resolve_tokenizer(profile).encode(SPEECH_TEXT)) / SPEECH_SECONDS
        image = None
        if "image" in profile.modalities:
            plan = profile.plan_image(1024, 1024)
            image = plan.tokens + plan.fence_tokens
        audio = next((r.per_second for r in audio_density(profile, (30.0,))), None)
        video = None
        with suppress(MmtokError):
            rows = video_density(profile)
            video = next((r.per_second for r in rows if r.what.startswith("1280×720")), None)
        out.append(ModalityDensity(profile.name, text, image, audio, video))
    return out


def density_report(profile: ProfileLike) -> list[DensityRow]:
    """The whole table for a profile (or its name, or a model folder); modalities it lacks
    are simply absent."""
    profile = as_profile(profile)
    rows = image_density(profile)
    with suppress(MmtokError):  # a profile without a video resize rule has no video density
        rows += video_density(profile)
    return rows + audio_density(profile)
