"""What a service is started with: the profile, the tokenizer, the media root and the limits."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS
from mmtok.media.container import DEFAULT_MAX_DURATION

# How ``mmtok serve --workers N`` hands the configuration to its worker processes.
ENV_VAR = "MMTOK_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """A service's settings; every limit bounds the work one request may cause.

    ``profile`` a built-in name or a local model folder; ``tokenizer`` a tokenizer file (the
    folder's own or the built-in one when ``None``); ``media_root`` the only folder paths and
    ``file://`` URLs may name (``None``: local files refused); ``max_model_len`` tokens, what
    vLLM was started with (reported by ``/tokenize``, the default ``/v1/plan`` context);
    ``max_body_bytes`` bytes of one request body; ``max_media_items`` media parts per request;
    ``max_pixels`` pixels of one image or video frame; ``max_duration`` seconds of one video
    or audio item.
    """

    profile: str = "qwen2-vl"
    tokenizer: str | None = None
    media_root: str | None = None
    max_model_len: int | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    max_media_items: int = 64
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_duration: float = DEFAULT_MAX_DURATION

    def to_env(self) -> str:
        """The configuration as JSON, for :data:`ENV_VAR`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeConfig:
        """The configuration ``mmtok serve`` left in :data:`ENV_VAR` for its workers."""
        return cls(**json.loads(os.environ[ENV_VAR]))
