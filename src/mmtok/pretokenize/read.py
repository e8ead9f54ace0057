"""Packed rows → the keyword arguments a transformers model's ``forward`` takes for packed input.

A packed row holds several samples back to back. The model must see each sample alone:
its own positions (restarting at 0) and attention that never crosses a sample boundary.
transformers finds the boundaries itself from text position ids that restart per sample
(``find_packed_sequence_indices``; Qwen2-VL takes them as a fourth row in front of the three
M-RoPE rows), flash-attention kernels take ``cu_seq_lens_q/k``, and any other kernel takes an
explicit block-diagonal causal mask. :func:`packed_inputs` gives all three views of one row;
media pixels are not part of the row (load them per sample id with :func:`mmtok.fusion.load`
and concatenate them in the row's order).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from mmtok.pretokenize.shards import shard_files

IGNORE = -100  # transformers' ignored label
_TEXT, _SPECIAL = 0, 4  # modality ids a label is kept on


def sample_positions(seq_lens: np.ndarray, length: int) -> np.ndarray:
    """``(length,)`` each sample's own token index 0 … len−1, then 0 for padding."""
    out = np.zeros(length, dtype=np.int64)
    ends = np.cumsum(seq_lens)
    starts = ends - seq_lens
    index = np.arange(int(ends[-1]) if len(ends) else 0)
    out[: len(index)] = index - np.repeat(starts, seq_lens)
    return out


def block_causal_mask(cu_seqlens: np.ndarray, length: int) -> np.ndarray:
    """``(length, length)`` bool: token ``i`` may attend to ``j`` when both lie in one
    segment of ``cu_seqlens`` and ``j ≤ i`` (each padding token attends to itself only)."""
    segment = np.searchsorted(cu_seqlens[1:], np.arange(length), side="right")
    pad = np.arange(length) >= cu_seqlens[-1]
    segment[pad] = len(cu_seqlens) + np.arange(pad.sum())
    same = segment[:, None] == segment[None, :]
    return same & np.tri(length, dtype=bool)


def labels(input_ids: np.ndarray, modality_ids: np.ndarray, cu_seqlens: np.ndarray) -> np.ndarray:
    """``(T,)`` next-token labels: the ids, :data:`IGNORE` on media tokens, on padding and on
    every sample's first token (so no sample learns to predict the next sample's start)."""
    out = np.where(np.isin(modality_ids, (_TEXT, _SPECIAL)), input_ids, IGNORE)
    out[cu_seqlens[:-1]] = IGNORE
    out[int(cu_seqlens[-1]) :] = IGNORE
    return out


def packed_inputs(
    row: Mapping[str, Any],
    *,
    attention: Literal["positions", "mask"] = "positions",
    dtype: Any = None,
) -> dict[str, Any]:
    """One packed row (a dict of lists, as pyarrow reads it) as a batch of one, in torch.

    ``input_ids``, ``labels`` ``(1, T)``; ``position_ids`` ``(4, 1, T)`` for M-RoPE (row 0
    each sample's own 0 … len−1, then the three M-RoPE rows) or ``(1, T)`` for 1-D RoPE;
    ``cu_seq_lens_q``/``cu_seq_lens_k`` ``(k + 1,)`` int32 and ``max_length_q``/``max_length_k``
    for flash-attention varlen kernels; ``image_grid_thw`` ``(n, 3)``, ``video_grid_thw``
    ``(v, 3)`` when present; ``use_cache=False``. ``attention="mask"`` adds
    ``attention_mask`` ``(1, 1, T, T)``, the block-diagonal causal mask, additive in ``dtype``
    (default float32), for kernels that support neither varlen nor position-based packing.
    """
    import torch

    ids = np.asarray(row["input_ids"], dtype=np.int64)
    length = len(ids)
    seq_lens = np.asarray(row["seq_lens"], dtype=np.int64)
    cu = np.asarray(row["cu_seqlens"], dtype=np.int64)
    positions = np.asarray(row["position_ids"], dtype=np.int64).reshape(-1, length)
    if len(positions) == 3:  # M-RoPE: text positions in front, as transformers expects
        positions = np.concatenate([sample_positions(seq_lens, length)[None], positions])[:, None]
    out: dict[str, Any] = {
        "input_ids": torch.from_numpy(ids)[None],
        "position_ids": torch.from_numpy(np.ascontiguousarray(positions)),
        "labels": torch.from_numpy(labels(ids, np.asarray(row["modality_ids"]), cu))[None],
        "cu_seq_lens_q": torch.from_numpy(cu.astype(np.int32)),
        "cu_seq_lens_k": torch.from_numpy(cu.astype(np.int32)),
        "max_length_q": int(np.diff(cu).max(initial=0)),
        "max_length_k": int(np.diff(cu).max(initial=0)),
        "use_cache": False,  # transformers looks for packed positions only without a cache
    }
    for key in ("image_grid_thw", "video_grid_thw"):
        if row[key]:
            out[key] = torch.tensor(row[key], dtype=torch.int64)
    if attention == "mask":
        dtype = dtype or torch.float32
        allowed = torch.from_numpy(block_causal_mask(cu, length))
        mask = torch.zeros(length, length, dtype=dtype)
        out["attention_mask"] = mask.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]
    return out


def read_packed(
    folder: Path,
    *,
    attention: Literal["positions", "mask"] = "positions",
    dtype: Any = None,
) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Every packed row of an ``mmtok pack`` folder, in order, streamed shard by shard: the
    samples' ids and :func:`packed_inputs`."""
    for path in shard_files(folder):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
            for row in batch.to_pylist():
                yield row["ids"], packed_inputs(row, attention=attention, dtype=dtype)
