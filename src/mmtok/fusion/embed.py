"""Embedding merge: encoder outputs into the text embedding sequence, and modality vectors.

:func:`merge_embeddings` is what a multimodal model's ``forward`` does after its vision (or
audio) tower: the rows of the encoder output replace the placeholder tokens' embeddings,
in order. A count mismatch is the classic silent bug (an image merged into the wrong span),
so it raises instead of broadcasting or truncating.
"""

from __future__ import annotations

from torch import Tensor, nn

from mmtok.errors import RequestError
from mmtok.fusion.layout import Modality


def merge_embeddings(
    embeds: Tensor, mask: Tensor, features: Tensor, *, what: str = "media"
) -> Tensor:
    """Scatter ``features`` ``(N, D)`` into ``embeds`` ``(…, L, D)`` where ``mask`` ``(…, L)``
    is true, in sequence (row-major) order; returns a new tensor, same dtype as ``embeds``.

    Raises :class:`~mmtok.errors.RequestError` naming both counts when the mask has a
    different number of positions than ``features`` has rows, or the widths differ.
    """
    slots = int(mask.sum())
    if slots != features.shape[0]:
        raise RequestError(
            f"{slots} {what} placeholder tokens in the sequence but {features.shape[0]} "
            f"{what} feature vectors from the encoder"
        )
    if features.shape[-1] != embeds.shape[-1]:
        raise RequestError(
            f"{what} features have width {features.shape[-1]} but the text embeddings "
            f"{embeds.shape[-1]}"
        )
    out = embeds.clone()
    out[mask.bool()] = features.to(dtype=embeds.dtype, device=embeds.device)
    return out


def merge_modality(
    embeds: Tensor, modality_ids: Tensor, features: Tensor, modality: Modality
) -> Tensor:
    """:func:`merge_embeddings` at the tokens of one ``modality`` (e.g. ``Modality.IMAGE``)."""
    return merge_embeddings(
        embeds, modality_ids == modality, features, what=Modality(modality).name.lower()
    )


class ModalityEmbedding(nn.Module):
    """A learned vector per modality (text, image, video, audio, special) added to every
    token's embedding: ``(…, L, D) + table[modality_ids]``.

    Starts at zero, so inserting it into a pretrained model changes nothing until trained.
    """

    def __init__(self, dim: int, num_modalities: int = len(Modality)) -> None:
        super().__init__()
        self.table = nn.Embedding(num_modalities, dim)
        nn.init.zeros_(self.table.weight)

    def forward(self, embeds: Tensor, modality_ids: Tensor) -> Tensor:
        return embeds + self.table(modality_ids.long()).to(embeds.dtype)
