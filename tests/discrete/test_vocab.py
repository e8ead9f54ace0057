"""The unified vocabulary: disjoint id ranges, fenced media sequences, exact round trips."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmtok.discrete.vocab import (
    AUDIO_PAD,
    IMAGE_END,
    IMAGE_ROW_END,
    IMAGE_START,
    SPECIALS,
    UnifiedVocab,
)
from mmtok.errors import ConfigError, RequestError


def test_ranges_by_hand() -> None:
    vocab = UnifiedVocab(text_size=100, image_codebook_size=16, audio_codebook_sizes=(8, 4))
    assert [(r.name, r.start, r.stop) for r in vocab.ranges] == [
        ("text", 0, 100),
        ("special", 100, 106),
        ("image", 106, 122),
        ("audio.0", 122, 130),
        ("audio.1", 130, 134),
    ]
    assert vocab.size == 134
    assert vocab.special_id(IMAGE_START) == 100
    assert vocab.special_id(AUDIO_PAD) == 105
    assert vocab.locate(99) == ("text", 99)
    assert vocab.locate(107) == ("image", 1)
    assert vocab.locate(131) == ("audio.1", 1)


def test_image_sequence_by_hand() -> None:
    vocab = UnifiedVocab(text_size=10, image_codebook_size=4)  # specials 10..15, image 16..19
    ids = vocab.image_sequence(torch.tensor([[0, 1], [2, 3]]))
    start, end, row = (vocab.special_id(t) for t in (IMAGE_START, IMAGE_END, IMAGE_ROW_END))
    assert (start, end, row) == (10, 11, 12)
    assert ids.tolist() == [10, 16, 17, 12, 18, 19, 12, 11]


def test_audio_sequences_by_hand() -> None:
    vocab = UnifiedVocab(text_size=10, audio_codebook_sizes=(4, 4))  # audio.0 16..19, .1 20..23
    codes = torch.tensor([[0, 1], [2, 3]])  # (T=2, Q=2)
    # <|audio_start|> = 13, <|audio_end|> = 14, <|audio_pad|> = 15
    assert vocab.audio_sequence(codes).tolist() == [13, 16, 21, 18, 23, 14]
    assert vocab.audio_sequence(codes, "delay").tolist() == [13, 16, 15, 18, 21, 15, 23, 14]


vocabs = st.builds(
    UnifiedVocab,
    st.integers(0, 300_000),
    st.integers(0, 70_000),
    st.lists(st.integers(1, 5000), max_size=8).map(tuple),
)


@given(vocabs, st.data())
def test_ranges_are_disjoint_and_cover_the_vocabulary(vocab: UnifiedVocab, data) -> None:
    ranges = vocab.ranges
    assert ranges[0].start == 0
    for before, after in itertools.pairwise(ranges):
        assert before.stop == after.start
    assert ranges[-1].stop == vocab.size
    assert vocab.size == vocab.text_size + len(SPECIALS) + vocab.image_codebook_size + sum(
        vocab.audio_codebook_sizes
    )
    token = data.draw(st.integers(0, vocab.size - 1))
    name, index = vocab.locate(token)
    owner = vocab.range(name)
    assert owner.start + index == token < owner.stop


@given(
    arrays("int64", st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.integers(0, 63))
)
def test_image_sequence_round_trips(codes) -> None:
    vocab = UnifiedVocab(text_size=1000, image_codebook_size=64, audio_codebook_sizes=(64,))
    grid = torch.from_numpy(codes)
    ids = vocab.image_sequence(grid)
    assert all(vocab.locate(int(i))[0] in ("image", "special") for i in ids)
    assert torch.equal(vocab.read_image_sequence(ids), grid)


@given(
    arrays("int64", st.tuples(st.integers(0, 8), st.integers(1, 4)), elements=st.integers(0, 31)),
    st.sampled_from(["frame-major", "delay"]),
)
def test_audio_sequence_round_trips(codes, layout) -> None:
    books = codes.shape[1]
    vocab = UnifiedVocab(text_size=50, image_codebook_size=8, audio_codebook_sizes=(32,) * books)
    grid = torch.from_numpy(codes)
    ids = vocab.audio_sequence(grid, layout)
    body = ids[1:-1]
    for q in range(books):  # every id of column q lies in codebook q's own range (or is a pad)
        column = body.view(-1, books)[:, q]
        names = {vocab.locate(int(i))[0] for i in column}
        assert names <= {f"audio.{q}", "special"}
    assert torch.equal(vocab.read_audio_sequence(ids, books, layout), grid)


def test_bad_input_is_refused() -> None:
    vocab = UnifiedVocab(text_size=10, image_codebook_size=4, audio_codebook_sizes=(4,))
    with pytest.raises(RequestError, match="image codebook"):
        vocab.image_sequence(torch.tensor([[4]]))
    with pytest.raises(RequestError, match="must open"):
        vocab.read_image_sequence(torch.tensor([16, 12]))
    with pytest.raises(RequestError, match="outside the image range"):
        vocab.read_image_sequence(torch.tensor([10, 3, 12, 11]))
    with pytest.raises(RequestError, match="outside the vocabulary"):
        vocab.locate(vocab.size)
    with pytest.raises(ConfigError):
        UnifiedVocab(text_size=10, audio_codebook_sizes=(0,))
