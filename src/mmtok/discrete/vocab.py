"""One id space for text, image codes and audio codes, so discrete media interleave with text.

A unified model (Chameleon, Emu3, AnyGPT) reads and writes one sequence of integer ids. The
ranges are disjoint and contiguous, in this order::

    [0, T)                         text ids, as the text tokenizer gives them
    [T, T + S)                     the media special tokens below, in order
    [T + S, T + S + K)             image codes 0..K-1
    then one range per audio codebook q, of its K_q codes

An image becomes ``<|image_start|> row₁ <|image_row_end|> … rowₕ <|image_row_end|> <|image_end|>``;
audio becomes ``<|audio_start|> … <|audio_end|>`` with its codes frame-major or in the delay
pattern (``<|audio_pad|>`` filling the delay). Each audio codebook has its own range, so an id
says which codebook it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from mmtok.discrete.codec_spec import (
    delay_pattern,
    frame_major,
    from_frame_major,
    undo_delay_pattern,
)
from mmtok.discrete.vq import flatten_grid, unflatten_grid
from mmtok.errors import ConfigError, RequestError

IMAGE_START, IMAGE_END, IMAGE_ROW_END = "<|image_start|>", "<|image_end|>", "<|image_row_end|>"
AUDIO_START, AUDIO_END, AUDIO_PAD = "<|audio_start|>", "<|audio_end|>", "<|audio_pad|>"
SPECIALS = (IMAGE_START, IMAGE_END, IMAGE_ROW_END, AUDIO_START, AUDIO_END, AUDIO_PAD)

AudioLayout = Literal["frame-major", "delay"]


@dataclass(frozen=True)
class IdRange:
    """Ids ``[start, stop)`` of one kind: ``text``, ``special``, ``image`` or ``audio.q``."""

    name: str
    start: int
    stop: int


@dataclass(frozen=True)
class UnifiedVocab:
    """The id ranges of a text vocabulary extended with an image codebook and audio codebooks."""

    text_size: int  # T: ids of the text tokenizer, its own specials included
    image_codebook_size: int = 0  # K image codes; 0 for no images
    audio_codebook_sizes: tuple[int, ...] = ()  # K_q per audio codebook; () for no audio

    def __post_init__(self) -> None:
        sizes = (self.image_codebook_size, *self.audio_codebook_sizes)
        if self.text_size < 0 or min(sizes) < 0 or 0 in self.audio_codebook_sizes:
            raise ConfigError(
                f"unified vocabulary: sizes must be ≥ 0 and audio codebooks non-empty ({self})"
            )

    @property
    def ranges(self) -> tuple[IdRange, ...]:
        """Every range, in id order; together they cover [0, size) exactly once."""
        sizes = [
            ("text", self.text_size),
            ("special", len(SPECIALS)),
            ("image", self.image_codebook_size),
            *((f"audio.{q}", k) for q, k in enumerate(self.audio_codebook_sizes)),
        ]
        out, start = [], 0
        for name, n in sizes:
            out.append(IdRange(name, start, start + n))
            start += n
        return tuple(out)

    @property
    def size(self) -> int:
        """Total ids: the embedding table a unified model needs."""
        return self.ranges[-1].stop

    def range(self, name: str) -> IdRange:
        """The range called ``name``."""
        return next(r for r in self.ranges if r.name == name)

    def special_id(self, token: str) -> int:
        """Id of one of :data:`SPECIALS`."""
        return self.text_size + SPECIALS.index(token)

    def locate(self, token_id: int) -> tuple[str, int]:
        """(range name, index within it) of an id: which text id, special, or code it is."""
        for r in self.ranges:
            if r.start <= token_id < r.stop:
                return r.name, token_id - r.start
        raise RequestError(f"id {token_id} is outside the vocabulary [0, {self.size})")

    def image_sequence(self, codes: Tensor) -> Tensor:
        """Image codes (h, w) -> unified ids with start, row ends and end: (h·(w+1) + 2,)."""
        row_end = self.special_id(IMAGE_ROW_END)
        body = flatten_grid(self._ids(codes, self.range("image")), row_separator=row_end)
        return self._fence(body, IMAGE_START, IMAGE_END)

    def read_image_sequence(self, ids: Tensor) -> Tensor:
        """Inverse of :meth:`image_sequence`: unified ids -> image codes (h, w)."""
        body = self._unfence(ids, IMAGE_START, IMAGE_END)
        grid = unflatten_grid(body, row_separator=self.special_id(IMAGE_ROW_END))
        return self._codes(grid, self.range("image"))

    def audio_sequence(self, codes: Tensor, layout: AudioLayout = "frame-major") -> Tensor:
        """Audio codes (T, Q) -> fenced unified ids, frame-major or in the delay pattern.

        Frame-major: (T·Q + 2,); delay: ((T + Q − 1)·Q + 2,), ``<|audio_pad|>`` where no
        code falls. (For parallel streams, offset with :meth:`audio_ids` and use
        :func:`~mmtok.discrete.codec_spec.parallel_streams`: they are not one sequence.)
        """
        ids = self.audio_ids(codes)
        if layout == "delay":
            ids = delay_pattern(ids, pad=self.special_id(AUDIO_PAD))
        return self._fence(frame_major(ids), AUDIO_START, AUDIO_END)

    def read_audio_sequence(
        self, ids: Tensor, num_codebooks: int, layout: AudioLayout = "frame-major"
    ) -> Tensor:
        """Inverse of :meth:`audio_sequence`: unified ids -> audio codes (T, Q)."""
        grid = from_frame_major(self._unfence(ids, AUDIO_START, AUDIO_END), num_codebooks)
        if layout == "delay":
            grid = undo_delay_pattern(grid)
        return torch.stack(
            [self._codes(grid[:, q], self.range(f"audio.{q}")) for q in range(num_codebooks)],
            dim=-1,
        )

    def audio_ids(self, codes: Tensor) -> Tensor:
        """Audio codes (..., T, Q) -> unified ids, codebook q offset into range ``audio.q``."""
        return torch.stack(
            [self._ids(codes[..., q], self.range(f"audio.{q}")) for q in range(codes.shape[-1])],
            dim=-1,
        )

    def _fence(self, body: Tensor, start: str, end: str) -> Tensor:
        """(L,) -> (L + 2,) between the ids of two special tokens."""
        ends = torch.tensor([self.special_id(start), self.special_id(end)], dtype=body.dtype)
        return torch.cat([ends[:1], body, ends[1:]])

    def _unfence(self, ids: Tensor, start: str, end: str) -> Tensor:
        if ids.numel() < 2 or ids[0] != self.special_id(start) or ids[-1] != self.special_id(end):
            raise RequestError(f"media ids: must open with {start} and close with {end}")
        return ids[1:-1]

    def _ids(self, codes: Tensor, where: IdRange) -> Tensor:
        """Codes that must fit ``where`` -> unified ids."""
        if codes.numel() and not bool(((codes >= 0) & (codes < where.stop - where.start)).all()):
            raise RequestError(f"media codes: some are outside the {where.name} codebook")
        return codes + where.start

    def _codes(self, ids: Tensor, where: IdRange) -> Tensor:
        """Unified ids that must all lie in ``where`` -> codes within it."""
        if ids.numel() and not bool(((ids >= where.start) & (ids < where.stop)).all()):
            raise RequestError(f"media ids: some are outside the {where.name} range")
        return ids - where.start
