"""The request: interleaved text, image, video and audio parts, validated once, here.

Two forms, order preserved exactly as given:

- chat messages: ``{"messages": [{"role": "user", "content": [{"type": "text", "text": …},
  {"type": "image", "path": "a.png"}]}]}`` (the OpenAI / Hugging Face chat style);
- a prompt with placeholders plus the ordered media: ``{"prompt": "Describe <image>",
  "media": [{"type": "image", "path": "a.png"}]}``.

Media parts carry per-item overrides (``min_pixels``/``max_pixels``; video ``fps`` and
``max_frames``) and ``drop``, which the budget planner sets to fit a request. JSON paths are
relative to the JSON file's folder. Every problem raises :class:`~mmtok.errors.RequestError`
naming the part (``messages[0].content[2]``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mmtok.errors import RequestError

MediaKind = Literal["image", "video", "audio"]
PLACEHOLDER = re.compile(r"<(image|video|audio)>")
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^data:", re.IGNORECASE)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TextPart(_Part):
    """Plain text, tokenized as is."""

    type: Literal["text"] = "text"
    text: str


class _MediaPart(_Part):
    """A media item: a local ``path`` (JSON) or in-memory encoded ``data`` (Python only)."""

    path: Path | None = None
    data: bytes | None = Field(default=None, repr=False, exclude=True)
    drop: bool = False  # set by a budget planner: the item and its placeholder disappear

    @field_validator("path", mode="before")
    @classmethod
    def _local(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and _REMOTE.match(value):
            raise ValueError(f"{value!r} is remote; mmtok reads local files only")
        base = (info.context or {}).get("base")
        if value is not None and base is not None and not Path(value).is_absolute():
            return Path(base) / value
        return value

    @model_validator(mode="after")
    def _one_source(self) -> _MediaPart:
        if (self.path is None) == (self.data is None):
            raise ValueError("give exactly one of 'path' or 'data'")
        return self

    @property
    def source(self) -> str | bytes:
        """What :func:`mmtok.probe.probe` takes: the path, or the bytes."""
        return str(self.path) if self.path is not None else self.data  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """How errors name the item."""
        return str(self.path) if self.path is not None else "<bytes>"


class ImagePart(_MediaPart):
    """An image; ``min_pixels``/``max_pixels`` override a dynamic-resolution profile's limits,
    ``max_image_size`` (longest side, pixels) a max-side profile's (Pixtral)."""

    type: Literal["image"] = "image"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "image", "url"))
    min_pixels: PositiveInt | None = None
    max_pixels: PositiveInt | None = None
    max_image_size: PositiveInt | None = None


class VideoPart(_MediaPart):
    """A video; sampling (``fps``, ``max_frames``) and frame pixel limits per item."""

    type: Literal["video"] = "video"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "video", "url"))
    fps: PositiveFloat | None = None
    max_frames: PositiveInt | None = None
    min_pixels: PositiveInt | None = None
    max_pixels: PositiveInt | None = None


class AudioPart(_MediaPart):
    """An audio clip."""

    type: Literal["audio"] = "audio"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "audio", "url"))


MediaPart = ImagePart | VideoPart | AudioPart
Part = Annotated[TextPart | ImagePart | VideoPart | AudioPart, Field(discriminator="type")]
AnyMedia = Annotated[ImagePart | VideoPart | AudioPart, Field(discriminator="type")]


class Message(BaseModel):
    """One chat turn; ``content`` is a string or a list of parts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str | list[Part]

    def parts(self) -> list[TextPart | MediaPart]:
        """The content as parts (a string is one text part)."""
        return [TextPart(text=self.content)] if isinstance(self.content, str) else self.content


class Request(BaseModel):
    """An interleaved multimodal request: ``messages``, or ``prompt`` with ``media``.

    ``labels`` writes "Image 1: " (the template's wording) before each media item;
    ``add_generation_prompt`` ends a chat with the opening of the assistant's turn.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[Message] | None = None
    prompt: str | None = None
    media: list[AnyMedia] = []
    labels: bool = False
    add_generation_prompt: bool = True

    @model_validator(mode="after")
    def _one_form(self) -> Request:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give either 'messages' or 'prompt' (with 'media'), not both")
        if self.messages is not None and self.media:
            raise ValueError("'media' goes with 'prompt'; in 'messages' media are content parts")
        if self.messages is not None and not self.messages:
            raise ValueError("'messages' is empty")
        if self.prompt is not None:
            _check_placeholders(self.prompt, self.media)
        return self

    def media_parts(self) -> list[MediaPart]:
        """Every media part in request order, dropped ones included (their index is stable)."""
        if self.messages is None:
            return list(self.media)
        return [p for m in self.messages for p in m.parts() if not isinstance(p, TextPart)]

    def locate(self, index: int) -> str:
        """Where media part ``index`` sits: ``messages[0].content[2]`` or ``media[1]``."""
        if self.messages is None:
            return f"media[{index}]"
        seen = -1
        for m, message in enumerate(self.messages):
            for c, part in enumerate(message.parts()):
                seen += not isinstance(part, TextPart)
                if seen == index and not isinstance(part, TextPart):
                    return f"messages[{m}].content[{c}]"
        raise IndexError(index)

    def with_media(self, index: int, **changes: Any) -> Request:
        """A copy with media part ``index`` (in :meth:`media_parts` order) changed, e.g.
        ``max_pixels=200_000`` or ``drop=True``; overrides are validated like the JSON."""
        parts = self.media_parts()
        if not 0 <= index < len(parts):
            raise RequestError(f"media[{index}]: no such media part ({len(parts)} in request)")
        old = parts[index]
        try:
            new = type(old).model_validate({**old.model_dump(), "data": old.data, **changes})
        except ValidationError as exc:
            raise RequestError(f"media[{index}]: {_describe(exc)}") from None
        if self.messages is None:
            media = [new if i == index else p for i, p in enumerate(self.media)]
            return self.model_copy(update={"media": media})
        seen = -1
        messages = []
        for message in self.messages:
            content = message.content
            if not isinstance(content, str):
                content = list(content)
                for j, part in enumerate(content):
                    if not isinstance(part, TextPart):
                        seen += 1
                        if seen == index:
                            content[j] = new
            messages.append(message.model_copy(update={"content": content}))
        return self.model_copy(update={"messages": messages})


def _check_placeholders(prompt: str, media: list[MediaPart]) -> None:
    kinds = PLACEHOLDER.findall(prompt)
    if len(kinds) != len(media):
        raise RequestError(
            f"prompt has {len(kinds)} placeholder(s) ({', '.join(f'<{k}>' for k in kinds)}) "
            f"but 'media' has {len(media)} item(s)"
        )
    for i, (kind, part) in enumerate(zip(kinds, media, strict=True)):
        if kind != part.type:
            raise RequestError(
                f"media[{i}]: placeholder {i + 1} in the prompt is <{kind}> but media[{i}] "
                f"is {article(part.type)} {part.type} part ({part.name})"
            )


def article(word: str) -> str:
    """``an image``, ``a video``."""
    return "an" if word[0] in "aeiou" else "a"


def parse_request(data: Any, base: str | os.PathLike[str] | None = None) -> Request:
    """Validate a request given as plain data (parsed JSON); relative paths join ``base``."""
    if isinstance(data, Request):
        return data
    try:
        return Request.model_validate(data, context={"base": base})
    except ValidationError as exc:
        raise RequestError(f"invalid request: {_describe(exc)}") from None


def load_request(path: str | os.PathLike[str]) -> Request:
    """Read a request JSON file; media paths are relative to its folder."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RequestError(f"{path}: request file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RequestError(f"{path}: not a valid JSON request ({exc})") from None
    try:
        return parse_request(data, base=path.parent)
    except RequestError as exc:
        raise RequestError(f"{path}: {exc}") from None


def _loc(loc: tuple[Any, ...]) -> str:
    """``('messages', 0, 'content', 'list[...]', 2, 'image')`` → ``messages[0].content[2]``."""
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif item in ("text", "image", "video", "audio") and out.endswith("]"):
            continue  # the union member's tag, not a field
        elif "[" in item or item in ("str", "function-after"):
            continue  # pydantic's name for a union member
        else:
            out += f".{item}" if out else item
    return out


def _describe(exc: ValidationError) -> str:
    """The most specific problems of a validation error, each naming its input."""
    errors = exc.errors(include_url=False)
    tagged = [e for e in errors if e["type"] in ("union_tag_invalid", "union_tag_not_found")]
    if tagged:
        e = tagged[0]
        if e["type"] == "union_tag_not_found":
            return f"{_loc(e['loc'])}: part has no 'type' (expected text, image, video or audio)"
        tag = e["ctx"]["tag"]
        return f"{_loc(e['loc'])}: unknown part type {tag!r} (expected text, image, video or audio)"
    # A str | list union reports both branches; the deeper location is the informative one.
    errors.sort(key=lambda e: -len(e["loc"]))
    seen: list[str] = []
    for e in errors:
        line = f"{_loc(e['loc']) or 'request'}: {e['msg'].removeprefix('Value error, ')}"
        if line not in seen:
            seen.append(line)
    return "; ".join(seen[:3])
