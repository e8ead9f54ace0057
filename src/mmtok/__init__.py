"""mmtok: images, audio and video into exact token sequences for multimodal LLMs."""

from __future__ import annotations

__version__ = "0.1.0"
