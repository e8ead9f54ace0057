"""Fusion: interleaved requests → one token sequence with modality ids, positions and tensors.

The flow is ``request → plan → load → model inputs``: :func:`plan_sequence` (headers only;
ids, modality ids, positions, grids), :func:`load` (decode the planned media into tensors),
:func:`batch` / ``Encoded.to_model_inputs`` (padded batches, a model's ``forward`` kwargs).
``encode = load ∘ plan_sequence``. Names resolve lazily, so importing the package costs
nothing until a name is used (``ModalityEmbedding`` imports torch).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ModalityEmbedding": "embed",
    "merge_embeddings": "embed",
    "merge_modality": "embed",
    "Modality": "layout",
    "Span": "layout",
    "AudioPart": "request",
    "ImagePart": "request",
    "Message": "request",
    "Request": "request",
    "TextPart": "request",
    "VideoPart": "request",
    "load_request": "request",
    "parse_request": "request",
    "TokenizerFallbackWarning": "tokenizer",
    "resolve_tokenizer": "tokenizer",
    "ItemPlan": "plan",
    "PartCount": "plan",
    "RequestCount": "plan",
    "SequencePlan": "plan",
    "count_request": "plan",
    "plan_sequence": "plan",
    "positions": "plan",
    "Encoded": "tensors",
    "encode": "tensors",
    "load": "tensors",
    "EncodedBatch": "inputs",
    "batch": "inputs",
    "encode_batch": "inputs",
    "process": "processor",
    "request_to_json": "serialize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mmtok.fusion' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmtok.fusion.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
