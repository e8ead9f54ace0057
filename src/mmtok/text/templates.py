"""Chat templates: how each family wraps roles, BOS and media around the request's parts.

A template turns the request into *pieces*: text to tokenize (each :class:`Text` on its own,
so a template decides where the reference tokenizer sees one string), control tokens by
name, the BOS/EOS of the tokenizer, and media items that :mod:`mmtok.fusion.layout` expands.
One small render function per style; a :class:`ChatTemplate` is data that a profile holds
(``Profile.template``), so renaming a profile never changes its template:

- ``chatml`` (Qwen2-VL, Qwen2.5-VL): the models' Jinja template — a default system turn,
  ``<|im_start|>role\\n … <|im_end|>\\n``, labels "Picture 1: " / "Video 1: ";
- ``mistral`` (Pixtral): mistral-common's ``InstructTokenizerV3`` after its request
  normalisation — system prompts joined and put before the last user turn, same-role turns
  merged, text chunks joined by blank lines, ``[INST] … [/INST]``, assistant text + EOS;
- ``vicuna`` (LLaVA-1.5, LLaVA-NeXT): BOS, ``USER: … ASSISTANT:`` turns, each image followed
  by a newline (order kept, unlike llava-hf's template that moves images first);
- ``plain`` (generic): BOS, ``role: …`` lines.

A prompt-form request skips the template: BOS when the family uses one, then the prompt with
each placeholder replaced by its item (special tokens written in the prompt are parsed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmtok.errors import RequestError

if TYPE_CHECKING:  # text sits below fusion and profiles: their types only, never their code
    from mmtok.fusion.request import MediaKind, Request
    from mmtok.profiles.base import Profile

PLACEHOLDER = re.compile(r"<(image|video|audio)>")
"""A media placeholder in a prompt-form request, replaced by its item when rendered."""


@dataclass(frozen=True)
class Text:
    """Text tokenized as one string; ``parse_special`` lets special-token strings through."""

    text: str
    parse_special: bool = False


@dataclass(frozen=True)
class Special:
    """A control token written by the template, by its string (``[INST]``, ``<|im_end|>``)."""

    token: str


@dataclass(frozen=True)
class Bos:
    """The tokenizer's BOS token (nothing if it has none)."""


@dataclass(frozen=True)
class Eos:
    """The tokenizer's EOS token (nothing if it has none)."""


@dataclass(frozen=True)
class Item:
    """A media item: ``part`` indexes ``Request.media_parts()``, ``index`` counts kept items of
    its ``kind`` from 0 (the row of its grid); ``label`` is written before it."""

    part: int
    kind: MediaKind
    index: int
    label: str = ""


Piece = Text | Special | Bos | Eos | Item


@dataclass(frozen=True)
class Turn:
    """One message: its role and its content as text strings and media items."""

    role: str
    content: list[str | Item]


def _label_pieces(item: Item) -> list[Piece]:
    return [Text(item.label), item] if item.label else [item]


def _merge_text(pieces: Sequence[Piece]) -> list[Piece]:
    """Join neighbouring texts: where the reference renders one string and tokenizes it."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + piece.text)
        elif not (isinstance(piece, Text) and not piece.text):
            out.append(piece)
    return out


def _content(turn: Turn) -> list[Piece]:
    out: list[Piece] = []
    for x in turn.content:
        out += [Text(x)] if isinstance(x, str) else _label_pieces(x)
    return out


def _text_only(turn: Turn, where: str) -> str:
    if any(isinstance(x, Item) for x in turn.content):
        raise RequestError(f"{where}: media in a {turn.role} message is not supported here")
    return "\n\n".join(x for x in turn.content if isinstance(x, str) and x)


# --- chatml: Qwen2-VL / Qwen2.5-VL ---------------------------------------------------------

QWEN_SYSTEM = "You are a helpful assistant."


def render_chatml(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """The Qwen2-VL chat template (a default system turn when the first is not one)."""
    out: list[Piece] = []
    if turns[0].role != "system":
        out += [Special("<|im_start|>"), Text(f"system\n{QWEN_SYSTEM}"), Special("<|im_end|>")]
        out.append(Text("\n"))
    for turn in turns:
        out += [Special("<|im_start|>"), Text(f"{turn.role}\n"), *_content(turn)]
        out += [Special("<|im_end|>"), Text("\n")]
    if add_generation_prompt:
        out += [Special("<|im_start|>"), Text("assistant\n")]
    return _merge_text(out)


# --- mistral: Pixtral (mistral-common InstructTokenizerV3) ----------------------------------


def _merge_user(turns: Sequence[Turn]) -> list[str | Item]:
    """mistral-common's chunk aggregation: neighbouring texts (in or across messages) joined
    by a blank line, empty texts skipped, media kept in place."""
    out: list[str | Item] = []
    for turn in turns:
        for x in turn.content:
            if isinstance(x, str):
                if not x:
                    continue
                if out and isinstance(out[-1], str):
                    out[-1] = out[-1] + "\n\n" + x
                    continue
            out.append(x)
    return out


def _image_first(content: list[str | Item]) -> list[str | Item]:
    # mistral-common's compatibility rule: texts followed by one final image → image first.
    if (
        len(content) >= 2
        and isinstance(content[-1], Item)
        and content[-1].kind == "image"
        and all(isinstance(x, str) for x in content[:-1])
    ):
        return [content[-1], *content[:-1]]
    return content


def _group_roles(turns: Sequence[Turn]) -> list[list[Turn]]:
    groups: list[list[Turn]] = []
    for turn in turns:
        if groups and groups[-1][0].role == turn.role:
            groups[-1].append(turn)
        else:
            groups.append([turn])
    return groups


def render_mistral(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """mistral-common's V3 instruct encoding (its prompt ends with ``[/INST]`` either way)."""
    system = "\n\n".join(
        s for t in turns if t.role == "system" and (s := _text_only(t, "system message"))
    )
    groups = _group_roles([t for t in turns if t.role != "system"])
    if not groups or groups[0][0].role != "user":
        groups.insert(0, [Turn("user", [])])
    last_user = max(i for i, g in enumerate(groups) if g[0].role == "user")
    out: list[Piece] = [Bos()]
    for i, group in enumerate(groups):
        if group[0].role == "assistant":
            text = "\n\n".join(_text_only(t, "assistant message") for t in group)
            out += [Text(text.rstrip(" ")), Eos()]
            continue
        content = _merge_user(group)
        prefix = system + "\n\n" if i == last_user and system else ""
        out.append(Special("[INST]"))
        if all(isinstance(x, str) for x in content):
            out.append(Text(prefix + "".join(x for x in content if isinstance(x, str))))
        else:
            if prefix:
                out.append(Text(prefix))
            for x in _image_first(content):
                out += [Text(x)] if isinstance(x, str) else _label_pieces(x)
        out.append(Special("[/INST]"))
    return [p for p in out if not (isinstance(p, Text) and not p.text)]


# --- vicuna: LLaVA-1.5 / LLaVA-NeXT ---------------------------------------------------------


def render_vicuna(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """``USER: <image>\\nWhat is this? ASSISTANT:`` (llava-hf model cards), order kept."""
    out: list[Piece] = [Bos()]
    for turn in turns:
        if turn.role == "system":
            out.append(Text(_text_only(turn, "system message") + " "))
            continue
        out.append(Text(f"{turn.role.upper()}: "))
        for x in turn.content:
            out += [Text(x)] if isinstance(x, str) else [*_label_pieces(x), Text("\n")]
        out.append(Text(" "))
    if add_generation_prompt:
        out.append(Text("ASSISTANT:"))
    return _merge_text(out)


# --- plain: generic -------------------------------------------------------------------------


def render_plain(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """BOS, then one ``role: content`` line per turn."""
    out: list[Piece] = [Bos()]
    for turn in turns:
        out += [Text(f"{turn.role}: "), *_content(turn), Text("\n")]
    if add_generation_prompt:
        out.append(Text("assistant: "))
    return _merge_text(out)


@dataclass(frozen=True)
class Labels:
    """What ``labels=True`` writes before each media item; ``{n}`` counts items of a kind."""

    image: str = "Image {n}: "
    video: str = "Video {n}: "
    audio: str = "Audio {n}: "


@dataclass(frozen=True)
class ChatTemplate:
    """A template style: its render function, item labels and the tokens it needs.

    ``bos``: prompt-form requests open with the tokenizer's BOS. ``builtin``: the family's
    own tokenizer is the built-in Tekken (otherwise the fallback is approximate for text).
    ``controls``: control tokens it writes, which a fallback tokenizer must have. ``name``
    is a label.
    """

    name: str
    render: Callable[[Sequence[Turn], bool], list[Piece]]
    bos: bool
    builtin: bool
    controls: tuple[str, ...] = ()
    labels: Labels = Labels()


CHATML = ChatTemplate(
    "chatml",
    render_chatml,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<|im_end|>"),
    labels=Labels(image="Picture {n}: "),
)
MISTRAL = ChatTemplate(
    "mistral", render_mistral, bos=True, builtin=True, controls=("[INST]", "[/INST]")
)
VICUNA = ChatTemplate("vicuna", render_vicuna, bos=True, builtin=False)
PLAIN = ChatTemplate("plain", render_plain, bos=True, builtin=True)


def template_for(profile: Profile) -> ChatTemplate:
    """The profile's chat template (``Profile.template``)."""
    return profile.template


def _items(request: Request, template: ChatTemplate) -> list[Item | None]:
    """An :class:`Item` per media part in request order, ``None`` for dropped ones."""
    seen: dict[str, int] = {}
    items: list[Item | None] = []
    for part_index, part in enumerate(request.media_parts()):
        if part.drop:
            items.append(None)
            continue
        n = seen.get(part.type, 0)
        seen[part.type] = n + 1
        label = getattr(template.labels, part.type).format(n=n + 1) if request.labels else ""
        items.append(Item(part_index, part.type, n, label))
    return items


def render(request: Request, template: ChatTemplate) -> list[Piece]:
    """The request as pieces, in order; dropped media leave no trace."""
    items = iter(_items(request, template))
    if request.prompt is not None:
        out: list[Piece] = [Bos()] if template.bos else []
        pos = 0
        for match in PLACEHOLDER.finditer(request.prompt):
            out.append(Text(request.prompt[pos : match.start()], parse_special=True))
            item = next(items)
            out += _label_pieces(item) if item is not None else []
            pos = match.end()
        out.append(Text(request.prompt[pos:], parse_special=True))
        return [p for p in out if not (isinstance(p, Text) and not p.text)]
    assert request.messages is not None
    turns = []
    for message in request.messages:
        content: list[str | Item] = []
        for part in message.parts():
            if part.type == "text":
                content.append(part.text)
            elif (item := next(items)) is not None:
                content.append(item)
        turns.append(Turn(message.role, content))
    return template.render(turns, request.add_generation_prompt)
