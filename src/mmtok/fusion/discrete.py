"""Requests for unified models that read images as discrete ids (Chameleon, Emu3, Janus).

:func:`plan_discrete` turns a prompt-form request (the text a processor takes, with
``<image>`` placeholders) into the ids the family's processor writes, from headers alone:
text by the folder's ``tokenizer.json``, the processor's tokens around the prompt, and each
image a span of begin/end/row tokens around placeholders, sized by the code grid of its
resize rule. :func:`fill_codes` then writes the ids the model computes from the pixels over
the placeholders, as the model's forward does: the sequence the language model reads.

The family rules live in :mod:`mmtok.discrete.families`, a package beside ``fusion`` (the same
layer); its torch-free functions are imported where they are used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmtok.errors import MediaError, RequestError
from mmtok.fusion.layout import Modality, Segment, Span, assemble, text_segment
from mmtok.fusion.plan import modality_totals
from mmtok.fusion.positions import rope_1d
from mmtok.fusion.request import Request, article, parse_request
from mmtok.limits import DEFAULT_LIMITS, Limits
from mmtok.media.source import Source
from mmtok.probe import probe
from mmtok.text.templates import PLAIN, Bos, Item, Special, Text, render
from mmtok.text.tokenizers import TextTokenizer

if TYPE_CHECKING:
    from mmtok.discrete.families import ImageSpan, VQFolder

# Per-image options of patch profiles; a VQ family's processor has none of them.
_ITEM_OPTIONS = ("min_pixels", "max_pixels", "max_image_size", "max_tiles", "do_pan_and_scan")


@dataclass(frozen=True)
class DiscreteItem:
    """One image of a discrete plan: ``grid`` (rows, cols) of codes from its header,
    ``fill`` (n,) int64 the sequence positions its model ids go to, ``input`` what to decode."""

    part: int
    index: int
    source: str
    grid: tuple[int, int]
    fill: np.ndarray = field(repr=False)
    input: Source = field(repr=False)


@dataclass(frozen=True)
class DiscretePlan:
    """A request as a unified model's processor writes it (``filled=False``: placeholders
    where the model's image ids go) or as its language model reads it (``filled=True``).

    ``input_ids``, ``modality_ids`` ``(L,)`` (codes ``IMAGE``, begin/end/row tokens
    ``SPECIAL``, Emu3's size text ``TEXT``); ``position_ids`` ``(1, L)``; ``spans`` the text
    runs and images; ``special_tokens`` token string → id.
    """

    name: str
    input_ids: np.ndarray
    modality_ids: np.ndarray
    position_ids: np.ndarray
    spans: tuple[Span, ...]
    items: tuple[DiscreteItem, ...]
    special_tokens: dict[str, int]
    filled: bool = False

    @property
    def image_grid_thw(self) -> np.ndarray:
        """``(n, 3)`` int64: ``(1, rows, cols)`` code grid of every image."""
        grid = [(1, *it.grid) for it in self.items]
        return np.array(grid, dtype=np.int64).reshape(-1, 3)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What ``tokenize --out`` writes, int64, a batch of one: ``input_ids``,
        ``attention_mask``, ``modality_ids`` ``(1, L)``, ``position_ids`` ``(1, L)``,
        ``image_grid_thw`` ``(n, 3)``."""
        ids = self.input_ids[None].astype(np.int64)
        return {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "modality_ids": self.modality_ids[None].astype(np.int64),
            "position_ids": self.position_ids.astype(np.int64),
            "image_grid_thw": self.image_grid_thw,
        }

    def to_json(self) -> dict[str, Any]:
        """Plain lists, with the keys of :meth:`mmtok.fusion.plan.SequencePlan.to_json`."""
        return {
            "profile": self.name,
            "input_ids": self.input_ids.tolist(),
            "attention_mask": [1] * len(self.input_ids),
            "modality_ids": self.modality_ids.tolist(),
            "position_ids": self.position_ids.tolist(),
            "rope_delta": 0,
            "spans": [
                {"modality": s.modality, "index": s.index, "start": s.start, "end": s.end}
                for s in self.spans
            ],
            "image_grid_thw": self.image_grid_thw.tolist(),
            "video_grid_thw": [],
            "second_per_grid_ts": [],
            "special_tokens": dict(self.special_tokens),
            "modality_totals": modality_totals(self.modality_ids),
            "filled": self.filled,
        }


def _image_segment(span: ImageSpan, index: int) -> Segment:
    modality = np.full(len(span.ids), Modality.SPECIAL, dtype=np.int8)
    modality[span.codes] = Modality.IMAGE
    modality[span.text] = Modality.TEXT
    return Segment(span.ids, modality, kind="image", index=index)


def plan_discrete(
    request: Request | Mapping[str, Any],
    folder: VQFolder | str | Path,
    tokenizer: TextTokenizer | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> DiscretePlan:
    """The ids a Chameleon, Emu3 or Janus processor writes for a prompt-form request, decoding
    nothing: its BOS (the tokenizer's post-processor) and prompt tokens
    (:func:`~mmtok.discrete.families.prompt_tokens`), the prompt's text and each image's
    span (:func:`~mmtok.discrete.families.image_span`). ``tokenizer``: the folder's own
    ``tokenizer.json`` unless given.
    """
    from mmtok.discrete.families import code_grid, image_span, prompt_tokens, read_folder

    vq = folder if not isinstance(folder, str | Path) else read_folder(folder)
    tok = tokenizer or vq.text_tokenizer
    request = parse_request(request)
    if request.prompt is None:
        raise RequestError(
            f"{vq.path}: a VQ tokenizer folder takes a prompt-form request (the text its "
            "processor reads, with <image> placeholders); chat templates are not modelled"
        )
    parts = request.media_parts()
    before, after = prompt_tokens(vq)
    pieces = render(request, PLAIN)  # prompt form: Bos, then texts and items
    pieces[1:1] = [Special(t) for t in before]
    pieces += [Special(t) for t in after]
    segments: list[Segment] = []
    items: list[DiscreteItem] = []
    total = 0
    for piece in pieces:
        if isinstance(piece, Text):
            segments.append(text_segment(tok.encode(piece.text, parse_special=piece.parse_special)))
        elif isinstance(piece, Special):
            segments.append(text_segment([tok.token_id(piece.token)], Modality.SPECIAL))
        elif isinstance(piece, Bos):
            segments.append(text_segment([tok.bos_id] if tok.bos_id is not None else []))
        elif isinstance(piece, Item):
            part = parts[piece.part]
            if piece.kind != "image":
                raise RequestError(f"{part.name}: {vq.path} tokenizes images, not {piece.kind}")
            if any(getattr(part, key, None) is not None for key in _ITEM_OPTIONS):
                raise RequestError(f"{part.name}: per-image options do not apply to {vq.path}")
            info = probe(part.source, max_pixels=limits.max_pixels)
            if info.kind != "image" or info.height is None or info.width is None:
                kind = f"{article(info.kind)} {info.kind}"
                raise MediaError(part.name, f"image part, but the file is {kind}")
            rows, cols = code_grid(vq, info.height, info.width, part.name)
            span = image_span(vq, rows, cols)
            limits.check_item(part.name, "image", len(span.ids))
            segments.append(_image_segment(span, piece.index))
            fill = total + np.flatnonzero(span.filled)
            item = DiscreteItem(piece.part, piece.index, part.name, (rows, cols), fill, part.source)
            items.append(item)
        total += len(segments[-1].ids)
        limits.check_request(total)
    if tok.eos_id is not None:
        segments.append(text_segment([tok.eos_id], Modality.SPECIAL))
    ids, mods, spans = assemble(segments)
    layout = vq.family.layout
    names = [layout.begin, layout.end, layout.row_end, layout.size_end, *layout.tail]
    names += [layout.placeholder, *before, *after]
    special = {t: vq.token_id(t) for t in names if t is not None}
    special.update({k: v for k, v in (("bos", tok.bos_id), ("eos", tok.eos_id)) if v is not None})
    return DiscretePlan(str(vq.path), ids, mods, rope_1d(len(ids)), spans, tuple(items), special)


def fill_codes(
    plan: DiscretePlan, image_ids: Callable[[DiscreteItem], Sequence[int]]
) -> DiscretePlan:
    """The plan with each image's model ids (``image_ids(item)``: what the model's
    ``get_image_tokens`` gives for its decoded pixels) over its placeholders. A decoded image
    whose ids disagree in number with its header's plan is a :class:`MediaError`."""
    ids = plan.input_ids.copy()
    for item in plan.items:
        values = np.asarray(image_ids(item), dtype=np.int64)
        if values.shape != item.fill.shape:
            raise MediaError(
                item.source,
                f"decoded to {values.size} image ids, its header planned {item.fill.size}",
            )
        ids[item.fill] = values
    return replace(plan, input_ids=ids, filled=True)
