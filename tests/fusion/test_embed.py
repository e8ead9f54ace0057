"""Embedding merge and the modality embedding."""

from __future__ import annotations

import pytest
import torch

from mmtok.errors import RequestError
from mmtok.fusion.embed import ModalityEmbedding, merge_embeddings, merge_modality
from mmtok.fusion.layout import Modality


def test_features_land_on_the_placeholders_in_order():
    embeds = torch.zeros(2, 4, 3)  # (B, L, D)
    mask = torch.tensor([[False, True, True, False], [True, False, False, False]])
    features = torch.tensor([[1.0, 1, 1], [2, 2, 2], [3, 3, 3]])
    out = merge_embeddings(embeds, mask, features)
    assert out[0, 1].tolist() == [1, 1, 1]
    assert out[0, 2].tolist() == [2, 2, 2]
    assert out[1, 0].tolist() == [3, 3, 3]
    assert out[0, 0].tolist() == [0, 0, 0] and out[1, 3].tolist() == [0, 0, 0]
    assert embeds.abs().sum() == 0  # input untouched


def test_dtype_follows_the_text_embeddings():
    out = merge_embeddings(
        torch.zeros(3, 2, dtype=torch.bfloat16), torch.tensor([0, 1, 0]).bool(), torch.ones(1, 2)
    )
    assert out.dtype == torch.bfloat16 and out[1].tolist() == [1, 1]


def test_count_mismatch_names_both_counts():
    with pytest.raises(
        RequestError, match="2 image placeholder tokens in the sequence but 3 image feature vectors"
    ):
        merge_embeddings(
            torch.zeros(4, 2), torch.tensor([1, 1, 0, 0]).bool(), torch.ones(3, 2), what="image"
        )
    with pytest.raises(RequestError, match="width 5 but the text embeddings 2"):
        merge_embeddings(torch.zeros(4, 2), torch.tensor([1, 0, 0, 0]).bool(), torch.ones(1, 5))


def test_merge_by_modality():
    mods = torch.tensor(
        [Modality.TEXT, Modality.IMAGE, Modality.SPECIAL, Modality.VIDEO, Modality.IMAGE]
    )
    out = merge_modality(torch.zeros(5, 2), mods, torch.tensor([[1.0, 1], [2, 2]]), Modality.IMAGE)
    assert out[:, 0].tolist() == [0, 1, 0, 0, 2]
    with pytest.raises(RequestError, match=r"1 video placeholder tokens .* but 2 video"):
        merge_modality(torch.zeros(5, 2), mods, torch.ones(2, 2), Modality.VIDEO)


def test_modality_embedding_starts_as_identity_then_adds_its_row():
    module = ModalityEmbedding(dim=3)
    x = torch.randn(2, 4, 3)
    mods = torch.tensor([[0, 1, 2, 4], [3, 3, 0, 1]])
    assert torch.equal(module(x, mods), x)
    with torch.no_grad():
        module.table.weight.copy_(torch.arange(15.0).reshape(5, 3))
    out = module(x, mods)
    assert torch.allclose(out[0, 1] - x[0, 1], torch.tensor([3.0, 4, 5]))  # image row
    assert torch.allclose(out[1, 0] - x[1, 0], torch.tensor([9.0, 10, 11]))  # audio row
    out.sum().backward()
    # each row's gradient counts how often its modality occurs
    assert module.table.weight.grad[:, 0].tolist() == [2, 2, 1, 2, 1]
