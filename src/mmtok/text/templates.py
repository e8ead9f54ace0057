"""Chat templates: how each family wraps roles, BOS and media around the request's parts.

A template turns the request into *pieces*: text to tokenize (each :class:`Text` on its own,
so a template decides where the reference tokenizer sees one string), control tokens by
name, the BOS/EOS of the tokenizer, and media items that :mod:`mmtok.fusion.layout` expands.
One small render function per style; a :class:`ChatTemplate` is data that a profile holds
(``Profile.template``), so renaming a profile never changes its template:

- ``chatml`` (Qwen2-VL, Qwen2.5-VL): the models' Jinja template — a default system turn,
  ``<|im_start|>role\\n … <|im_end|>\\n``, labels "Picture 1: " / "Video 1: ";
  ``chatml-nosys`` (Qwen3-VL): the same without the default system turn; ``chatml-audio``
  (Qwen2-Audio): ChatML with ``Audio N: `` before and a newline after each clip;
- ``glm`` (GLM-4.1V / GLM-4.5V): ``[gMASK]<sop>``, then ``<|role|>\\n …`` per turn and
  ``<|assistant|>\\n`` for the generation prompt;
- ``mistral`` (Pixtral): mistral-common's ``InstructTokenizerV3`` after its request
  normalisation — system prompts joined and put before the last user turn, same-role turns
  merged, text chunks joined by blank lines, ``[INST] … [/INST]``, assistant text + EOS;
- ``vicuna`` (LLaVA-1.5, LLaVA-NeXT): BOS, ``USER: … ASSISTANT:`` turns, each image followed
  by a newline (order kept, unlike llava-hf's template that moves images first);
- ``gemma`` (Gemma 3): BOS, ``<start_of_turn>role\\n … <end_of_turn>\\n``, the system text
  folded into the first user turn;
- ``llama4`` (Llama 4): BOS, ``<|header_start|>role<|header_end|>\\n\\n … <|eot|>``;
- ``onevision`` (LLaVA-OneVision): ``<|im_start|>role `` + images, videos, then each text
  after a newline + ``<|im_end|>`` (llava-hf's template: media first);
- ``internvl`` (InternVL3 / 3.5): ChatML with InternVL's default system turn, a newline
  after each image or video;
- ``idefics3`` / ``smolvlm``: BOS (Idefics3) or ``<|im_start|>`` (SmolVLM), then
  ``User:<image>…<end_of_utterance>\n`` per turn, ``Assistant:`` as the generation prompt;
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


def render_chatml(
    turns: Sequence[Turn], add_generation_prompt: bool, system: str | None = QWEN_SYSTEM
) -> list[Piece]:
    """The Qwen2-VL chat template (a default ``system`` turn when the first is not one;
    ``None``: none, as Qwen3-VL's template)."""
    out: list[Piece] = []
    if turns[0].role != "system" and system is not None:
        out += [Special("<|im_start|>"), Text(f"system\n{system}"), Special("<|im_end|>")]
        out.append(Text("\n"))
    for turn in turns:
        out += [Special("<|im_start|>"), Text(f"{turn.role}\n"), *_content(turn)]
        out += [Special("<|im_end|>"), Text("\n")]
    if add_generation_prompt:
        out += [Special("<|im_start|>"), Text("assistant\n")]
    return _merge_text(out)


def render_chatml_nosys(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """Qwen3-VL's chat template: ChatML without a default system turn."""
    return render_chatml(turns, add_generation_prompt, system=None)


def render_chatml_audio(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """Qwen2-Audio's chat template: ChatML, each audio written as ``Audio N: `` + the clip +
    a newline (the label always, numbered over the request)."""
    labelled = []
    for turn in turns:
        content: list[str | Item] = []
        for x in turn.content:
            if isinstance(x, Item) and x.kind == "audio":
                content += [Item(x.part, x.kind, x.index, f"Audio {x.index + 1}: "), "\n"]
            else:
                content.append(x)
        labelled.append(Turn(turn.role, content))
    return render_chatml(labelled, add_generation_prompt)


# --- glm: GLM-4.1V / GLM-4.5V ---------------------------------------------------------------


def render_glm(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """``[gMASK]<sop><|user|>\\n…<|assistant|>\\n`` (GLM-4.1V's template, no thinking
    options)."""
    out: list[Piece] = [Special("[gMASK]"), Special("<sop>")]
    for turn in turns:
        out += [Special(f"<|{turn.role}|>"), Text("\n"), *_content(turn)]
    if add_generation_prompt:
        out += [Special("<|assistant|>"), Text("\n")]
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


# --- gemma: Gemma 3 ----------------------------------------------------------------------------


def render_gemma(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """Gemma 3's template: BOS, a system turn folded into the first user turn (``text\n\n``),
    ``<start_of_turn>role\n`` (assistant → ``model``), texts trimmed, ``<end_of_turn>\n``."""
    out: list[Piece] = [Bos()]
    prefix = ""
    if turns and turns[0].role == "system":
        prefix = _text_only(turns[0], "system message") + "\n\n"
        turns = turns[1:]
    for i, turn in enumerate(turns):
        role = "model" if turn.role == "assistant" else turn.role
        out += [Special("<start_of_turn>"), Text(f"{role}\n" + (prefix if i == 0 else ""))]
        for x in turn.content:
            out += [Text(x.strip())] if isinstance(x, str) else _label_pieces(x)
        out += [Special("<end_of_turn>"), Text("\n")]
    if add_generation_prompt:
        out += [Special("<start_of_turn>"), Text("model\n")]
    return _merge_text(out)


# --- llama4: Llama 4 ---------------------------------------------------------------------------


def render_llama4(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """Llama 4's template: BOS, ``<|header_start|>role<|header_end|>\n\n`` content
    ``<|eot|>`` per turn (a system text trimmed), the assistant header as generation prompt."""
    out: list[Piece] = [Bos()]
    for turn in turns:
        out += [Special("<|header_start|>"), Text(turn.role), Special("<|header_end|>")]
        if turn.role == "system":
            out.append(Text("\n\n" + _text_only(turn, "system message").strip()))
        else:
            out += [Text("\n\n"), *_content(turn)]
        out.append(Special("<|eot|>"))
    if add_generation_prompt:
        out += [Special("<|header_start|>"), Text("assistant"), Special("<|header_end|>")]
        out.append(Text("\n\n"))
    return _merge_text(out)


# --- onevision: LLaVA-OneVision ---------------------------------------------------------------


def render_onevision(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """llava-hf's OneVision template: ``<|im_start|>role `` then the turn's images, then its
    videos, then each text after a newline, ``<|im_end|>`` (no newline after it)."""
    out: list[Piece] = []
    for turn in turns:
        out += [Special("<|im_start|>"), Text(f"{turn.role} ")]
        media = [x for x in turn.content if isinstance(x, Item)]
        for kind in ("image", "video"):
            for x in media:
                out += _label_pieces(x) if x.kind == kind else []
        out += [Text("\n" + x) for x in turn.content if isinstance(x, str)]
        out.append(Special("<|im_end|>"))
    if add_generation_prompt:
        out += [Special("<|im_start|>"), Text("assistant\n")]
    return _merge_text(out)


# --- internvl: InternVL3 / 3.5 ---------------------------------------------------------------

INTERNVL_SYSTEM = (
    "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
    "多模态大语言模型。"
)


def render_internvl(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """InternVL3's ``-hf`` template: ChatML with its default system turn, each image or video
    followed by a newline."""
    spaced = [
        Turn(t.role, [y for x in t.content for y in ([x, "\n"] if isinstance(x, Item) else [x])])
        for t in turns
    ]
    return render_chatml(spaced, add_generation_prompt, system=INTERNVL_SYSTEM)


# --- idefics3 / smolvlm --------------------------------------------------------------------------


def _render_utterances(
    turns: Sequence[Turn], add_generation_prompt: bool, opening: Piece
) -> list[Piece]:
    """``opening``, then per turn ``Role:`` (``Role: `` unless it starts with an image),
    its content and ``<end_of_utterance>\n``; ``Assistant:`` as the generation prompt."""
    out: list[Piece] = [opening]
    for turn in turns:
        first = turn.content[0] if turn.content else None
        colon = ":" if isinstance(first, Item) and first.kind == "image" else ": "
        out += [Text(turn.role.capitalize() + colon), *_content(turn)]
        out += [Special("<end_of_utterance>"), Text("\n")]
    if add_generation_prompt:
        out.append(Text("Assistant:"))
    return _merge_text(out)


def render_idefics3(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """Idefics3's template: BOS (``<|begin_of_text|>``), then ``User:<image>…``."""
    return _render_utterances(turns, add_generation_prompt, Bos())


def render_smolvlm(turns: Sequence[Turn], add_generation_prompt: bool) -> list[Piece]:
    """SmolVLM / SmolVLM2's template: ``<|im_start|>``, then ``User:<image>…``."""
    return _render_utterances(turns, add_generation_prompt, Special("<|im_start|>"))


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
CHATML_NOSYS = ChatTemplate(
    "chatml-nosys",
    render_chatml_nosys,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<|im_end|>"),
    labels=Labels(image="Picture {n}: "),
)
CHATML_AUDIO = ChatTemplate(
    "chatml-audio",
    render_chatml_audio,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<|im_end|>"),
)
GLM = ChatTemplate(
    "glm",
    render_glm,
    bos=False,
    builtin=False,
    controls=("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>"),
)
MISTRAL = ChatTemplate(
    "mistral", render_mistral, bos=True, builtin=True, controls=("[INST]", "[/INST]")
)
VICUNA = ChatTemplate("vicuna", render_vicuna, bos=True, builtin=False)
GEMMA = ChatTemplate(
    "gemma", render_gemma, bos=True, builtin=False, controls=("<start_of_turn>", "<end_of_turn>")
)
LLAMA4 = ChatTemplate(
    "llama4",
    render_llama4,
    bos=True,
    builtin=False,
    controls=("<|header_start|>", "<|header_end|>", "<|eot|>"),
)
ONEVISION = ChatTemplate(
    "onevision",
    render_onevision,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<|im_end|>"),
)
PLAIN = ChatTemplate("plain", render_plain, bos=True, builtin=True)
INTERNVL = ChatTemplate(
    "internvl",
    render_internvl,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<|im_end|>"),
)
IDEFICS3 = ChatTemplate(
    "idefics3", render_idefics3, bos=True, builtin=False, controls=("<end_of_utterance>",)
)
SMOLVLM = ChatTemplate(
    "smolvlm",
    render_smolvlm,
    bos=False,
    builtin=False,
    controls=("<|im_start|>", "<end_of_utterance>"),
)


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
