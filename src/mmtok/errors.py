"""The error hierarchy: every failure mmtok raises on purpose is one of these.

Messages always name the input (a path, an item index, a parameter) and the problem, so a
user reading a log line knows which file or request to fix.
"""

from __future__ import annotations


class MmtokError(Exception):
    """Base of every error mmtok raises on purpose."""


def describe(exc: BaseException) -> str:
    """A foreign exception (FFmpeg's, Pillow's) as one line for a typed error's message: its
    text with line breaks folded, or its type's name when it has no text."""
    return " ".join(str(exc).split()) or type(exc).__name__


class MediaError(MmtokError):
    """A media input (image, video, audio) cannot be used.

    ``source`` names the input: a path, or ``"<bytes>"`` for in-memory data.
    """

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class CorruptMediaError(MediaError):
    """The bytes are not a valid file of the format they claim (or of any known format)."""


class TruncatedMediaError(CorruptMediaError):
    """The file ends before its data does (an interrupted download, a cut upload)."""


class UnsupportedMediaError(MediaError):
    """A valid file of a kind or format mmtok does not handle (or the profile does not accept)."""


class EmptyMediaError(MediaError):
    """The file holds no usable content: zero-length audio, a video without frames."""


class MediaTooLargeError(MediaError):
    """Refused before decoding: pixels, frames or duration above the configured limit.

    Raised from header data alone, so a decompression bomb never allocates its pixels.
    """


class ConfigError(MmtokError):
    """A profile, model folder, option or checkpoint is invalid or inconsistent."""


class RequestError(MmtokError):
    """A request is malformed: unknown part types, placeholder/media count mismatches, bad JSON."""


class LimitExceededError(RequestError):
    """A request over one of a service's limits (body bytes, media items): ``mmtok serve``
    answers HTTP 413."""


class BudgetError(MmtokError):
    """A request does not fit its token budget (and fitting was not asked for, or failed)."""
