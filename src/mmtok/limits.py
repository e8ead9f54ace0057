"""How much work one untrusted input may ask for: every limit in one frozen dataclass.

Headers and requests come from users. A request's per-item options (``min_pixels``,
``max_pixels``, ``fps``, ``max_frames``, …) and a header's sizes are checked against these
limits before the work they would cause — probing, planning, allocating id arrays, decoding —
so a hostile value costs a typed error, never gigabytes or minutes. Planning
(:func:`mmtok.fusion.plan_sequence`, :func:`mmtok.fusion.count_request`) takes a
:class:`Limits`; :data:`DEFAULT_LIMITS` applies everywhere one is not given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from mmtok.errors import ConfigError, MediaTooLargeError, RequestError
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS
from mmtok.media.container import DEFAULT_MAX_DURATION


@dataclass(frozen=True)
class Limits:
    """Bounds on one item and one request.

    ``max_pixels`` pixels of one image or video frame as stored (what a header may claim);
    ``max_resized_pixels`` pixels of one image, tile or frame as resized for the encoder (twice
    the largest default of any built-in profile, Qwen3-VL's 16,777,216; an image
    ``min_pixels`` override may not ask for more); ``max_duration`` seconds of one
    video or audio file; ``max_frames`` frames sampled from one video; ``max_fps`` a video
    ``fps`` override (frames per second); ``max_item_tokens`` tokens one media item expands
    to; ``max_request_tokens`` tokens of a whole request (text included).
    """

    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_resized_pixels: int = 1 << 25
    max_duration: float = DEFAULT_MAX_DURATION
    max_frames: int = 32_768
    max_fps: float = 1_000.0
    max_item_tokens: int = 1 << 20
    max_request_tokens: int = 1 << 22

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise ConfigError(f"limit {f.name} {value!r}: must be a positive finite number")

    def check_option(self, where: str, name: str, value: float, limit: float) -> None:
        """Refuse a per-item option above ``limit`` (:class:`RequestError` naming ``where``)."""
        if not value <= limit:  # also NaN
            raise RequestError(f"{where}: {name} {value:,} is above the limit of {limit:,}")

    def check_item(
        self, source: str, kind: str, tokens: int, pixels: int = 0, frames: int = 0
    ) -> None:
        """Refuse one planned item whose tokens, resized pixels (per image, tile or frame) or
        sampled frames exceed the limits, before anything is allocated for it
        (:class:`MediaTooLargeError` naming ``source``)."""
        for what, value, limit in (
            ("resized pixels", pixels, self.max_resized_pixels),
            ("sampled frames", frames, self.max_frames),
            ("tokens", tokens, self.max_item_tokens),
        ):
            if value > limit:
                raise MediaTooLargeError(
                    source, f"{kind} plans {value:,} {what}, above the limit of {limit:,}"
                )

    def check_request(self, tokens: int) -> None:
        """Refuse a request of more than ``max_request_tokens`` tokens (so far)."""
        if tokens > self.max_request_tokens:
            raise RequestError(
                f"request expands to more than {self.max_request_tokens:,} tokens "
                f"({tokens:,} so far), the limit per request"
            )


DEFAULT_LIMITS = Limits()
