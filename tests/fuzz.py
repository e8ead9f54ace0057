"""A seeded mutation fuzzer over generated media: samples, mutations, and one checked case.

Every sample is made in code (tests/images.py, tests/media_factory.py); every mutation is a
pure function of the sample and a seed, so a failing case is reproduced from its name alone.
A case runs what a user can run on a file — probe, count, decode (image pixels, sampled video
frames, audio samples) — and passes when everything either succeeds or raises a
:class:`~mmtok.errors.MmtokError` naming the input, within a time bound. Used by
``tests/test_fuzz.py`` (a few hundred cases) and ``bench/fuzz.py`` (thousands, with a report).
"""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tests.images import encode, random_image
from tests.media_factory import (
    gradient_frame,
    tone,
    write_compressed_audio,
    write_sound,
    write_video,
)

IMAGE_FORMATS = ("jpeg", "png", "webp", "gif", "bmp", "tiff")
VIDEO_FORMATS = ("mp4", "webm", "mkv")
AUDIO_FORMATS = ("wav", "flac", "mp3", "ogg", "opus", "m4a")


def _written(suffix: str, write: Callable[[Path], object]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sample.{suffix}"
        write(path)
        return path.read_bytes()


@cache
def sample(fmt: str) -> bytes:
    """A small valid file of ``fmt`` (a few KB): the seed every mutation starts from."""
    if fmt in IMAGE_FORMATS:
        return encode(random_image(40, 28, seed=1), fmt.upper())
    if fmt in VIDEO_FORMATS:
        codec = {"mp4": "libx264", "webm": "libvpx", "mkv": "libx264"}[fmt]
        return _written(
            fmt,
            lambda p: write_video(
                p, gradient_frame(32, 24), 8, width=32, height=24, codec=codec, gop=4
            ),
        )
    sound = tone(0.3, rate=16_000, channels=2)
    if fmt in ("wav", "flac"):
        return _written(fmt, lambda p: write_sound(p, sound, 16_000))
    if fmt == "ogg":  # Vorbis through libsndfile (PyAV here has no Vorbis encoder)
        return _written(fmt, lambda p: write_sound(p, sound, 16_000, subtype="VORBIS"))
    codec, rate = {
        "mp3": ("libmp3lame", 16_000),
        "opus": ("libopus", 48_000),
        "m4a": ("aac", 16_000),
    }[fmt]
    return _written(
        fmt, lambda p: write_compressed_audio(p, tone(0.3, rate, channels=2), rate, codec)
    )


# Values that a header field may be overwritten with: the edges of each integer width.
_HUGE = (
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\x80\x00\x00\x00",
    b"\xff\xff",
    b"\x00\x00",
    b"\x01\x00\x00\x00",
    b"\xff" * 8,
)


def mutate(data: bytes, kind: str, seed: int) -> bytes:
    """``data`` changed by the mutation ``kind`` (``flip``, ``cut``, ``header``, ``huge``,
    ``splice``), drawn from ``seed``; deterministic."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    n = len(buf)
    if kind == "flip":  # a few random bits anywhere
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, n))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(buf)
    if kind == "cut":  # truncation: mostly deep inside, sometimes inside the header
        end = int(rng.integers(0, min(n, 64))) if rng.random() < 0.3 else int(rng.integers(0, n))
        return bytes(buf[:end])
    if kind == "header":  # random bytes over a stretch of the first 256
        start = int(rng.integers(0, min(n, 256)))
        length = int(rng.integers(1, 9))
        buf[start : start + length] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        return bytes(buf[:n]) if len(buf) > n else bytes(buf)
    if kind == "huge":  # a size, count or rate field claiming an extreme value
        value = _HUGE[int(rng.integers(0, len(_HUGE)))]
        start = int(rng.integers(0, max(1, min(n, 512) - len(value))))
        buf[start : start + len(value)] = value
        return bytes(buf)
    if kind == "splice":  # a stretch removed or duplicated (a lost or repeated packet)
        a = int(rng.integers(0, n))
        b = min(n, a + int(rng.integers(1, 256)))
        return bytes(buf[:b] + buf[a:]) if rng.random() < 0.5 else bytes(buf[:a] + buf[b:])
    raise ValueError(kind)


MUTATIONS = ("flip", "cut", "header", "huge", "splice")


class CaseTimeout(Exception):
    """A fuzz case ran past its time bound."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (SIGALRM).

    Native code is interrupted only when it returns to Python, which PyAV and Pillow do per
    packet or tile; the elapsed time is also checked afterwards by the caller.
    """

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class CountMismatch(Exception):
    """A file counted from its header decodes to a different number of tokens."""


@dataclass(frozen=True)
class Outcome:
    """What one case did: ``ok`` (every step succeeded), ``typed`` (a step raised an
    ``MmtokError``, ``error`` its message) or ``bad`` (anything else: ``error`` says what)."""

    name: str
    result: str
    error: str = ""
    seconds: float = 0.0


def exercise(path: Path) -> None:
    """Everything mmtok does with one file: probe, count, and decode what the count planned.

    Raises whatever mmtok raises; the caller classifies it.
    """
    from mmtok.audio.load import load_audio
    from mmtok.audio.plan import plan_audio
    from mmtok.count import CountOptions, count_info
    from mmtok.image.decode import decode_image
    from mmtok.probe import probe
    from mmtok.profiles import get_profile
    from mmtok.video.frames import decode_frames, select_frames
    from mmtok.video.sampling import sampling_for

    profile = get_profile("qwen2-vl")
    info = probe(path)
    if info.kind == "image":
        count_info(info, profile, CountOptions())
        decode_image(path)
    elif info.kind == "video":
        selection = select_frames(path, info, sampling_for(profile, "fps"))
        decode_frames(path, selection.indices)
        select_frames(path, info, sampling_for(profile, "scenes"))
    else:
        row = count_info(info, profile, CountOptions())
        decoded = plan_audio(len(load_audio(path)), profile).tokens
        if decoded != row.tokens:
            raise CountMismatch(f"counted {row.tokens} tokens, features hold {decoded}")


def run_case(name: str, data: bytes, folder: Path, *, limit_s: float = 5.0) -> Outcome:
    """Write ``data`` into ``folder`` under the case's format suffix (``name`` starts with
    it), run :func:`exercise` on it under a ``limit_s`` time bound and classify the result."""
    from mmtok.errors import MediaError, MmtokError

    path = folder / f"case.{name.split('/')[0]}"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        with time_limit(limit_s):
            exercise(path)
        result, error = "ok", ""
    except CaseTimeout as exc:
        result, error = "bad", f"timeout {exc}"
    except MmtokError as exc:
        message = str(exc)
        named = not isinstance(exc, MediaError) or message.startswith(f"{path}: ")
        result = "typed" if named and "\n" not in message else "bad"
        error = message if result == "typed" else f"badly worded: {message!r}"
    except Exception as exc:  # the point of the fuzzer: anything else is a finding
        result, error = "bad", f"{type(exc).__name__}: {exc}"
    return Outcome(name, result, error, time.perf_counter() - start)


def cases(formats: tuple[str, ...], per_format: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``per_format`` mutants of each format's sample, cycling through :data:`MUTATIONS`;
    names are ``fmt/mutation/seed``."""
    for fmt in formats:
        data = sample(fmt)
        for k in range(per_format):
            kind = MUTATIONS[k % len(MUTATIONS)]
            case_seed = seed * 1_000_003 + k
            yield f"{fmt}/{kind}/{case_seed}", mutate(data, kind, case_seed)
