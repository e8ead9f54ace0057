"""Token compression and vision adapters: one TokenSet contract, many operators.

Start with ``TokenSet.from_grid(features, grid)``; every operator returns a TokenSet whose
sizes, provenance and (t, h, w) centroids stay exact. ``count_after`` prices any method in
tokens without running it.
"""

from __future__ import annotations

from mmtok.compress.adapters import (
    LinearProjector,
    MLPProjector,
    PatchMerger,
    PixelShuffle,
    merged_grid,
    space_to_depth,
)
from mmtok.compress.evaluate import (
    EvalRow,
    evaluate_features,
    explained_variance,
    quality,
    reconstruct,
    summarise,
)
from mmtok.compress.methods import METHODS, Compressed, compress_to, count_after
from mmtok.compress.pool import pool, pooled_grid, temporal_merge
from mmtok.compress.prune import (
    LearnedScore,
    cls_attention_scores,
    distinctiveness_scores,
    prune,
    text_attention_scores,
)
from mmtok.compress.resampler import PerceiverResampler, QFormerResampler
from mmtok.compress.schedule import keep_schedule, merge_counts, merge_schedule, rounds_to_keep
from mmtok.compress.tokenset import Grid, TokenSet, grid_positions, keep_tokens, merge_tokens
from mmtok.compress.tome import bipartite_assignment, size_bias, tome_merge

__all__ = [
    "METHODS",
    "Compressed",
    "EvalRow",
    "Grid",
    "LearnedScore",
    "LinearProjector",
    "MLPProjector",
    "PatchMerger",
    "PerceiverResampler",
    "PixelShuffle",
    "QFormerResampler",
    "TokenSet",
    "bipartite_assignment",
    "cls_attention_scores",
    "compress_to",
    "count_after",
    "distinctiveness_scores",
    "evaluate_features",
    "explained_variance",
    "grid_positions",
    "keep_schedule",
    "keep_tokens",
    "merge_counts",
    "merge_schedule",
    "merge_tokens",
    "merged_grid",
    "pool",
    "pooled_grid",
    "prune",
    "quality",
    "reconstruct",
    "rounds_to_keep",
    "size_bias",
    "space_to_depth",
    "summarise",
    "temporal_merge",
    "text_attention_scores",
    "tome_merge",
]
