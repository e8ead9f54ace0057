"""Token Merging (ToMe, Bolya et al. 2023): bipartite soft matching and proportional attention.

As in facebookresearch/ToMe, the algorithm is pure functions: ``bipartite_assignment`` decides
which tokens merge, ``merge_tokens`` (tokenset.py) applies it with size-weighted averaging.
Unlike the reference, the output keeps the input's relative order: a merged token takes the
place of its destination, so a raster sequence stays (nearly) raster for the LLM.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmtok.compress.schedule import check_r
from mmtok.compress.tokenset import TokenSet, merge_tokens
from mmtok.errors import ConfigError


def bipartite_assignment(metric: Tensor, r: int, protected: int = 0) -> Tensor:
    """Which of N tokens merge, as a slot map (B, N) → [0, N − r).

    After the ``protected`` leading tokens, tokens alternate between side A (even) and side B
    (odd). Each A token proposes its most cosine-similar B token; the r A tokens with the most
    similar proposals merge into them. ``metric`` (B, N, C) is usually the attention keys
    averaged over heads. Assumes 0 ≤ r ≤ ⌊(N − protected) / 2⌋.
    """
    b, n, _ = metric.shape
    device = metric.device
    if r == 0:  # also covers a single mergeable token, where side B is empty
        return torch.arange(n, device=device).expand(b, n)
    m = metric[:, protected:]
    a, b_side = m[:, ::2], m[:, 1::2]
    # cosine = dot / (|a| |b|): scaling the small score matrix, not the (B, N, C) metric
    norm = m.norm(dim=-1).clamp(min=1e-12)
    scores = a @ b_side.transpose(1, 2) / (norm[:, ::2, None] * norm[:, None, 1::2])
    best, partner = scores.max(dim=-1)  # (B, N_A): best B token of each A token
    src = best.topk(r, dim=-1).indices  # (B, r) A tokens whose proposals are best
    src_at = protected + 2 * src  # their indices among all N tokens
    dst_at = protected + 2 * partner.gather(1, src) + 1  # (B, r) their B partners
    merged = torch.zeros(b, n, dtype=torch.bool, device=device)
    merged.scatter_(1, src_at, True)
    assign = (~merged).cumsum(dim=1) - 1  # slot of every surviving token, order preserved
    return assign.scatter(1, src_at, assign.gather(1, dst_at))


def tome_merge(ts: TokenSet, r: int, metric: Tensor | None = None) -> TokenSet:
    """One ToMe step: exactly r tokens fewer; protected tokens stay first and untouched.

    ``metric`` (B, N, C) defaults to the features themselves.
    """
    check_r(ts.n, r, ts.protected)
    if metric is None:
        metric = ts.features
    elif metric.shape[:2] != ts.features.shape[:2]:
        raise ConfigError(
            f"metric: shape {tuple(metric.shape)} does not match {ts.n} tokens of batch "
            f"{ts.features.shape[0]}"
        )
    return merge_tokens(ts, bipartite_assignment(metric, r, ts.protected), ts.n - r)


def size_bias(size: Tensor) -> Tensor:
    """Proportional attention bias log(size) as an additive mask (B, 1, 1, N).

    Adding it to the attention logits makes a merged key of size s weigh as much as the s
    keys it replaced: exp(q·k + log s) = s·exp(q·k). Pass it as ``attn_mask`` to
    ``torch.nn.functional.scaled_dot_product_attention``.
    """
    return size.log()[:, None, None, :]
