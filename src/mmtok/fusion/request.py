"""The request: interleaved text, image, video and audio parts, validated once, here.

Two forms, order preserved exactly as given:

- chat messages: ``{"messages": [{"role": "user", "content": [{"type": "text", "text": …},
  {"type": "image", "path": "a.png"}]}]}`` (the OpenAI / Hugging Face chat style);
- a prompt with placeholders plus the ordered media: ``{"prompt": "Describe <image>",
  "media": [{"type": "image", "path": "a.png"}]}``.

Media parts are mmtok's own (``image``/``video``/``audio`` with ``path``, ``url`` or the kind
as key) or OpenAI/vLLM chat-completions parts (``image_url``, ``video_url``, ``audio_url``:
``{"url": …}``; ``input_audio``: ``{"data": <base64>, "format": …}``), which become the
same parts. A locator is a local path, a ``file://`` URL or a ``data:`` URL (decoded here, in
memory; its bytes are probed like a file's); ``http(s)`` and other remote URLs are refused
(mmtok makes no network requests). Media parts carry per-item overrides
(``min_pixels``/``max_pixels``; video ``fps`` and ``max_frames``) and ``drop``, which the budget
planner sets to fit a request. JSON paths are relative to the JSON file's folder, or confined
to a media root when one is given. A top-level ``model`` or ``id`` (as a chat-completions body
has) is accepted. Every problem raises :class:`~mmtok.errors.RequestError` naming the part
(``messages[0].content[2]``).
"""

from __future__ import annotations

import binascii
import copy
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
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
from mmtok.text.templates import PLACEHOLDER

MediaKind = Literal["image", "video", "audio"]
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# data:[<media type>][;<parameter>]*[;base64],<data>
_DATA_URL = re.compile(r"^data:[^,;]*(?:;[^,;]*)*?(;base64)?,", re.IGNORECASE)
# OpenAI / vLLM content part type → the kind of mmtok part it becomes.
OPENAI_PARTS: dict[str, MediaKind] = {
    "image_url": "image",
    "video_url": "video",
    "audio_url": "audio",
    "input_audio": "audio",
}
_KEYS = {"image_url": {"url", "detail"}, "video_url": {"url"}, "audio_url": {"url"}}
_PATH_MAX = 4096  # bytes: Linux's PATH_MAX; no longer path names a file


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64 → bytes (``what`` names the field in the error); empty data is refused.

    The lenient decoder skips characters outside the alphabet, so a length other than the
    one ``text``'s length implies means it met some: the same verdict as ``validate=True``,
    at half its cost (a megabyte-sized image per request makes that count).
    """
    padding = len(text) - len(text.rstrip("="))
    try:
        data = binascii.a2b_base64(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64 ({exc})") from None
    if len(text) % 4 or padding > 2 or len(data) != len(text) // 4 * 3 - padding:
        raise ValueError(f"{what} is not valid base64 (characters outside the alphabet)")
    if not data:
        raise ValueError(f"{what} holds no bytes")
    return data


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:`` URL (base64 or percent-encoded), decoded in memory."""
    match = _DATA_URL.match(url)
    if match is None:
        raise ValueError("malformed data: URL (expected data:<media type>;base64,<data>)")
    payload = url[match.end() :]
    if match.group(1):
        return decode_base64(payload, "data: URL")
    data = unquote_to_bytes(payload)
    if not data:
        raise ValueError("data: URL holds no bytes")
    return data


def _png_bytes(image: Any) -> bytes:
    """A ``PIL.Image`` as PNG bytes (lossless; modes PNG cannot store become RGB/RGBA)."""
    import io

    from PIL import Image

    if not isinstance(image, Image.Image):
        raise ValueError(f"{type(image).__name__}: expected a path, a data: URL or a PIL.Image")
    if image.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _file_url_path(url: str) -> str:
    """``file:///a/b.png`` → ``/a/b.png`` (local host only)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"{url!r}: a file URL names a local path (file:///…), not a host")
    return unquote(parts.path)


def _local_path(value: str | os.PathLike[str], context: Mapping[str, Any]) -> Path:
    """A local path under the parse's rules: relative paths join ``base`` (else the media root);
    with a media root, the resolved path must lie inside it; ``local_files=False`` refuses all."""
    if not context.get("local_files", True):
        raise ValueError(
            f"{str(value)!r} is a local path, and local files are refused here (no media root "
            "is set); send the media as a data: URL"
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{value!r}: a path cannot hold a NUL character")
        try:
            size = len(os.fsencode(value))
        except UnicodeEncodeError:
            raise ValueError(f"{value!r}: not a file name (it holds a lone surrogate)") from None
        if size > _PATH_MAX:
            raise ValueError(f"a path of {size:,} bytes: longer than any file system allows")
    path = Path(value)
    root = context.get("media_root")
    base = context.get("base") or root
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    if root is not None:
        real, top = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, top]) != top:
            raise ValueError(f"{str(value)!r} is outside the media root")
    return path


def _from_openai(value: Any) -> Any:
    """An OpenAI/vLLM content part → mmtok's own part of the same kind (anything else as is).

    The part's other keys (mmtok's per-item options, vLLM's ``uuid``) are kept beside it.
    """
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return value  # a part without a string type: the discriminator names the problem
    if value["type"] not in OPENAI_PARTS:
        return value
    kind = value["type"]
    body = value.get(kind)
    rest = {k: v for k, v in value.items() if k not in ("type", kind)}
    out: dict[str, Any] = {"type": OPENAI_PARTS[kind], **rest}
    if kind == "input_audio":
        if not isinstance(body, dict) or not isinstance(body.get("data"), str):
            raise ValueError("input_audio needs {'data': '<base64>', 'format': 'wav' | 'mp3' | …}")
        unknown = sorted(set(body) - {"data", "format"})
        if unknown:
            raise ValueError(f"input_audio: unknown key(s) {', '.join(map(repr, unknown))}")
        return {**out, "data": decode_base64(body["data"], "input_audio.data")}
    if isinstance(body, dict):
        unknown = sorted(set(body) - _KEYS[kind])
        if unknown:
            raise ValueError(f"{kind}: unknown key(s) {', '.join(map(repr, unknown))}")
        body = body.get("url")
    if not isinstance(body, str):
        raise ValueError(f"{kind} needs {{'url': 'data:…' | 'file:///…' | a path}}")
    return {**out, "url": body}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TextPart(_Part):
    """Plain text, tokenized as is."""

    type: Literal["text"] = "text"
    text: str


class _MediaPart(_Part):
    """A media item: a local ``path`` or in-memory encoded ``data`` (a ``data:`` URL's bytes,
    or bytes given from Python)."""

    path: Path | None = None
    data: bytes | None = Field(default=None, repr=False, exclude=True)
    drop: bool = False  # set by a budget planner: the item and its placeholder disappear
    uuid: str | None = None  # vLLM's media cache key: accepted, no effect on the count

    @model_validator(mode="before")
    @classmethod
    def _data_url(cls, value: Any) -> Any:
        """A ``data:`` URL given as the locator becomes the part's ``data``; so does a
        ``PIL.Image`` given from Python (as lossless PNG bytes of its pixels)."""
        if not isinstance(value, dict):
            return value
        kind = cls.model_fields["type"].default
        for key in ("path", kind, "url"):
            locator = value.get(key)
            rest = {k: v for k, v in value.items() if k != key}
            if isinstance(locator, str) and locator[:5].lower() == "data:":
                return {**rest, "data": decode_data_url(locator)}
            if type(locator).__module__.startswith("PIL."):
                return {**rest, "data": _png_bytes(locator)}
        return value

    @field_validator("path", mode="before")
    @classmethod
    def _local(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value[:7].lower() == "file://":
            value = _file_url_path(value)
        elif isinstance(value, str) and _URL.match(value):
            raise ValueError(
                f"{value!r} is a remote URL; mmtok makes no network requests (send the bytes "
                "as a data: URL, or a local path)"
            )
        if isinstance(value, str | os.PathLike):
            return _local_path(value, info.context or {})
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
    ``max_image_size`` (longest side, pixels) a max-side profile's (Pixtral), ``max_tiles`` a
    tiled profile's tile cap (Llama 4, LLaVA-OneVision's ``anyres_max_N``), and
    ``do_pan_and_scan`` turns Gemma 3's crops on or off; ``longest_edge`` is the side
    Idefics3 / SmolVLM resize an image's longest side to before splitting it."""

    type: Literal["image"] = "image"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "image", "url"))
    min_pixels: PositiveInt | None = None
    max_pixels: PositiveInt | None = None
    max_image_size: PositiveInt | None = None
    max_tiles: PositiveInt | None = None
    do_pan_and_scan: bool | None = None
    longest_edge: PositiveInt | None = None  # Idefics3 / SmolVLM's size.longest_edge (pixels)


class VideoPart(_MediaPart):
    """A video; sampling (``fps``, ``max_frames``) and frame pixel limits per item;
    ``use_audio_in_video``: its audio track interleaved with its frames (Qwen2.5-Omni)."""

    type: Literal["video"] = "video"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "video", "url"))
    fps: PositiveFloat | None = Field(None, allow_inf_nan=False)
    max_frames: PositiveInt | None = None
    min_pixels: PositiveInt | None = None
    max_pixels: PositiveInt | None = None
    use_audio_in_video: bool | None = None


class AudioPart(_MediaPart):
    """An audio clip."""

    type: Literal["audio"] = "audio"
    path: Path | None = Field(None, validation_alias=AliasChoices("path", "audio", "url"))


MediaPart = ImagePart | VideoPart | AudioPart
Part = Annotated[
    TextPart | ImagePart | VideoPart | AudioPart,
    Field(discriminator="type"),
    BeforeValidator(_from_openai),
]
AnyMedia = Annotated[
    ImagePart | VideoPart | AudioPart, Field(discriminator="type"), BeforeValidator(_from_openai)
]


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
    ``add_generation_prompt`` ends a chat with the opening of the assistant's turn;
    ``model`` and ``id`` (as chat-completions bodies carry them) are kept, and change nothing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    id: str | None = None
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

    def _places(self) -> Iterator[tuple[int, int]]:
        """``(message, content index)`` of every media part, in :meth:`media_parts` order."""
        for m, message in enumerate(self.messages or ()):
            for c, part in enumerate(message.parts()):
                if not isinstance(part, TextPart):
                    yield m, c

    def locations(self) -> list[str]:
        """Where every media part sits, in :meth:`media_parts` order, in one pass (what
        :meth:`locate` answers for one)."""
        if self.messages is None:
            return [f"media[{i}]" for i in range(len(self.media))]
        return [f"messages[{m}].content[{c}]" for m, c in self._places()]

    def locate(self, index: int) -> str:
        """Where media part ``index`` sits: ``messages[0].content[2]`` or ``media[1]``."""
        if self.messages is None:
            return f"media[{index}]"
        for i, (m, c) in enumerate(self._places()):
            if i == index:
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
        m, c = list(self._places())[index]
        messages = list(self.messages)
        content = list(messages[m].content)
        content[c] = new
        messages[m] = messages[m].model_copy(update={"content": content})
        return self.model_copy(update={"messages": messages})

    def to_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` — the JSON this request was parsed from — with this request's per-item
        options written back: each media part gets its overrides (``max_pixels``, ``fps``, …)
        as keys beside its locator; a dropped part is removed from its message (the prompt
        form marks it ``"drop": true``, as removing its placeholder would re-join the text
        around it). The result parses to this request, in the shape the body came in."""
        out = copy.deepcopy({k: v for k, v in body.items() if k not in ("messages", "media")})
        parts = self.media_parts()
        options = [
            p.model_dump(exclude_defaults=True, exclude={"type", "path", "drop"}) for p in parts
        ]
        if self.messages is None:
            media = [dict(raw) for raw in body["media"]]
            for raw, part, opts in zip(media, parts, options, strict=True):
                raw.update(opts, **({"drop": True} if part.drop else {}))
            return {**out, "prompt": body["prompt"], "media": media}
        messages = [dict(raw) for raw in body["messages"]]
        dropped: set[tuple[int, int]] = set()
        for (m, c), part, opts in zip(self._places(), parts, options, strict=True):
            content = messages[m]["content"] = list(messages[m]["content"])
            if part.drop:
                dropped.add((m, c))
            else:
                content[c] = {**content[c], **opts}
        for m, raw in enumerate(messages):
            if not isinstance(raw["content"], str):
                raw["content"] = [p for c, p in enumerate(raw["content"]) if (m, c) not in dropped]
        return {**out, "messages": messages}


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


def parse_request(
    data: Any,
    base: str | os.PathLike[str] | None = None,
    *,
    media_root: str | os.PathLike[str] | None = None,
    local_files: bool = True,
) -> Request:
    """Validate a request given as plain data (parsed JSON); relative paths join ``base``.

    With ``media_root``, relative paths join it (when no ``base`` is given) and every path
    must resolve (symlinks followed) inside it; ``local_files=False`` refuses paths and
    ``file://`` URLs altogether, leaving ``data:`` URLs and bytes (what a service without a
    media root takes).
    """
    if isinstance(data, Request):
        return data
    context = {"base": base, "media_root": media_root, "local_files": local_files}
    try:
        return Request.model_validate(data, context=context)
    except ValidationError as exc:
        raise RequestError(f"invalid request: {_describe(exc)}") from None


def load_request(path: str | os.PathLike[str]) -> Request:
    """Read a request JSON file; media paths are relative to its folder."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RequestError(f"{path}: request file not found") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
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


_PART_TYPES = f"text, image, video, audio, {', '.join(OPENAI_PARTS)}"


def _describe(exc: ValidationError) -> str:
    """The most specific problems of a validation error, each naming its input."""
    errors = exc.errors(include_url=False)
    tagged = [e for e in errors if e["type"] in ("union_tag_invalid", "union_tag_not_found")]
    if tagged:
        e = tagged[0]
        if e["type"] == "union_tag_not_found":
            return f"{_loc(e['loc'])}: part has no 'type' (expected {_PART_TYPES})"
        tag = repr(e["ctx"]["tag"])
        tag = tag if len(tag) <= 60 else f"{tag[:57]}…"  # a megabyte of "type" stays one line
        return f"{_loc(e['loc'])}: unknown part type {tag} (expected {_PART_TYPES})"
    # A str | list union reports both branches; the deeper location is the informative one,
    # and an error at a location enclosing another one's is the other branch's complaint.
    errors.sort(key=lambda e: -len(e["loc"]))
    where = [_loc(e["loc"]) for e in errors]
    seen: list[str] = []
    for e, loc in zip(errors, where, strict=True):
        if any(other.startswith((f"{loc}.", f"{loc}[")) for other in where if loc):
            continue
        line = f"{loc or 'request'}: {e['msg'].removeprefix('Value error, ')}"
        if e["type"] == "extra_forbidden":
            line = _unknown_key(loc, str(e["loc"][-1]))
        if line not in seen:
            seen.append(line)
    return "; ".join(seen[:3])


def _unknown_key(loc: str, key: str) -> str:
    """``…content[1].max_pixel: Extra inputs are not permitted (did you mean 'max_pixels'?)``."""
    import difflib

    known: set[str] = set()
    for model in (Request, Message, TextPart, ImagePart, VideoPart, AudioPart):
        for name, info in model.model_fields.items():
            known.add(name)
            choices = getattr(info.validation_alias, "choices", ())
            known.update(c for c in choices if isinstance(c, str))
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{loc or key}: Extra inputs are not permitted{hint}"
