"""One call from chat-template text and media to model inputs, as transformers' processors do.

``process(text, images=[...], profile="qwen2-vl")`` is what ``AutoProcessor(...)(text=...,
images=...)`` returns for users who render prompts with a chat template themselves: ``text``
holds the family's own placeholders as the template writes them (Qwen
``<|vision_start|><|image_pad|><|vision_end|>``, LLaVA ``<image>``, Pixtral ``[IMG]``, or
mmtok's ``<image>``/``<video>``/``<audio>``), one per item, in the order of the media given.
Each becomes a prompt-form request (:mod:`mmtok.fusion.request`) that is encoded and batched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from mmtok.errors import RequestError
from mmtok.fusion.inputs import batch
from mmtok.fusion.plan import TokenizerLike
from mmtok.fusion.request import MediaKind
from mmtok.fusion.tensors import encode
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.profiles import ProfileLike, as_profile
from mmtok.profiles.base import Profile

Media = Any  # a path, encoded bytes or a PIL.Image (images)


def _placeholders(profile: Profile) -> re.Pattern[str]:
    """What a chat template writes for one item of each kind: the family's token, with the
    fences around it when the family has them, or mmtok's ``<image>``/``<video>``/``<audio>``."""
    t = profile.tokens
    alternatives = []
    for kind, token, start, end in (
        ("image", t.image, t.image_start, t.image_end),
        ("video", t.video, t.video_start, t.video_end),
        ("audio", t.audio, t.audio_start, t.audio_end),
    ):
        if token is None:
            continue
        fenced = "".join(
            f"(?:{re.escape(f)})?" if i != 1 else re.escape(f)
            for i, f in enumerate((start or "", token, end or ""))
            if f
        )
        alternatives.append(f"(?P<{kind}>{fenced})")
    alternatives.append("(?P<mmtok><(?:image|video|audio)>)")
    return re.compile("|".join(alternatives))


def _prompt(text: str, pattern: re.Pattern[str]) -> tuple[str, list[MediaKind]]:
    """``text`` with every placeholder written as mmtok's, and their kinds in order."""
    kinds: list[MediaKind] = []

    def replace(match: re.Match[str]) -> str:
        kind = match.group()[1:-1] if match.lastgroup == "mmtok" else match.lastgroup
        kinds.append(kind)  # type: ignore[arg-type]
        return f"<{kind}>"

    return pattern.sub(replace, text), kinds


def _part(kind: MediaKind, media: Media) -> dict[str, Any]:
    if isinstance(media, bytes | bytearray):
        return {"type": kind, "data": bytes(media)}
    return {"type": kind, kind: media}


def process(
    text: str | Sequence[str],
    images: Sequence[Media] = (),
    videos: Sequence[Media] = (),
    audios: Sequence[Media] = (),
    *,
    profile: ProfileLike,
    tokenizer: TokenizerLike = None,
    padding: Literal["right", "left"] = "right",
    allow_fallback_tokenizer: bool = False,
) -> Any:
    """Model inputs (a ``BatchFeature``: ``model(**inputs)``, ``inputs.to(device)``) for one
    text or a batch of texts; media are taken in order across the texts, as transformers'
    processors take them.

    Raises :class:`RequestError` when the placeholders do not match the media given, and
    :class:`~mmtok.errors.ConfigError` when the profile's own tokenizer is missing (model
    inputs with a stand-in vocabulary are refused unless ``allow_fallback_tokenizer``).
    """
    profile = as_profile(profile)
    tok = resolve_tokenizer(profile, tokenizer, allow_fallback=allow_fallback_tokenizer)
    texts = [text] if isinstance(text, str) else list(text)
    pattern = _placeholders(profile)
    queues = {"image": list(images), "video": list(videos), "audio": list(audios)}
    given = {kind: len(queue) for kind, queue in queues.items()}
    rows = []
    for i, one in enumerate(texts):
        prompt, kinds = _prompt(one, pattern)
        media = []
        for kind in kinds:
            if not queues[kind]:
                used = sum(k == kind for t in texts for k in _prompt(t, pattern)[1])
                raise RequestError(
                    f"text[{i}]: the texts hold {used} {kind} placeholder(s) but "
                    f"{given[kind]} {kind}(s) were given"
                )
            media.append(_part(kind, queues[kind].pop(0)))
        rows.append(encode({"prompt": prompt, "media": media}, profile, tok))
    left = {kind: len(queue) for kind, queue in queues.items() if queue}
    if left:
        extra = ", ".join(f"{n} {kind}(s)" for kind, n in left.items())
        raise RequestError(f"{extra} given beyond the texts' placeholders")
    return batch(rows, padding=padding).to_model_inputs()
