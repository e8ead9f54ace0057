"""Fusion: interleaved requests → one token sequence with modality ids, positions and tensors."""

from __future__ import annotations

from mmtok.fusion.embed import ModalityEmbedding, merge_embeddings, merge_modality
from mmtok.fusion.layout import Modality, Span
from mmtok.fusion.request import (
    AudioPart,
    ImagePart,
    Message,
    Request,
    TextPart,
    VideoPart,
    load_request,
    parse_request,
)
from mmtok.fusion.sequence import (
    Encoded,
    EncodedBatch,
    PartCount,
    RequestCount,
    TokenizerFallbackWarning,
    batch,
    count_request,
    encode,
    encode_batch,
    resolve_tokenizer,
)

__all__ = [
    "AudioPart",
    "Encoded",
    "EncodedBatch",
    "ImagePart",
    "Message",
    "Modality",
    "ModalityEmbedding",
    "PartCount",
    "Request",
    "RequestCount",
    "Span",
    "TextPart",
    "TokenizerFallbackWarning",
    "VideoPart",
    "batch",
    "count_request",
    "encode",
    "encode_batch",
    "load_request",
    "merge_embeddings",
    "merge_modality",
    "parse_request",
    "resolve_tokenizer",
]
