"""Vector quantisers with EMA codebooks, and the statistics that show a codebook's health.

A vector quantiser maps each D-wide vector to the id of its nearest code; a residual quantiser
repeats that on what is left, Q times. Codebooks learn by exponential moving averages (EMA) of the
vectors assigned to each code, start from k-means on the first batch, and re-seed codes nobody
picks (dead codes) from the batch: collapse, where a few codes take all the data, is the
chronic failure, so every training step reports usage, perplexity, dead codes and restarts.

Why not vector-quantize-pytorch's ``VectorQuantize``/``ResidualVQ`` (the library this follows):
measured by ``bench/nearest_code.py`` on the CPU (65,536 vectors, 8,192 codes of dim 256), its
forward takes 7.5× as long as :func:`nearest_code` and peaks at 8.1 GiB against 20 MiB, because
it holds several whole (N, K) matrices; and it does not report which codes it restarted. The
algorithm is the same; ``tests/discrete/test_quantize.py`` checks ids against the library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmtok.discrete.config import QuantizerConfig

# Elements of one (rows, K) score block in nearest_code: 16 MiB of float32. Blocks of 128 to
# 1,024 rows at K = 8,192 ran within noise of each other; one whole (N, K) GEMM ran slower.
SCORE_BLOCK = 1 << 22


def nearest_code(x: Tensor, codebook: Tensor) -> Tensor:
    """Id of the nearest code (squared L2) for each vector: (N, D), (K, D) -> (N,) int64.

    ``‖x − c‖² = ‖x‖² − 2x·c + ‖c‖²`` and ``‖x‖²`` is the same for every code, so one GEMM with
    ``‖c‖²`` as its bias ranks the codes. Rows go in blocks so the (N, K) scores never exist
    whole. Ties go to the lowest id.
    """
    x, codebook = x.detach(), codebook.detach()
    norms = codebook.square().sum(dim=1)  # (K,)
    rows = max(1, SCORE_BLOCK // codebook.shape[0])
    scores = x.new_empty(min(rows, x.shape[0]), codebook.shape[0])  # reused: no page faults
    ids = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    for start in range(0, x.shape[0], rows):
        block = x[start : start + rows]
        out = scores[: block.shape[0]]  # (rows, K)
        torch.addmm(norms, block, codebook.T, alpha=-2, out=out)
        ids[start : start + rows] = out.argmin(dim=1)
    return ids


def kmeans_plus_plus(x: Tensor, k: int) -> Tensor:
    """Greedy k-means++ seeds: (N, D) -> (K, D).

    Each next seed is the best of ``2 + ln K`` candidates drawn with probability ∝ squared
    distance to the seeds so far (as scikit-learn does): random seeds, or one D² draw, leave
    some clusters without a code and split others, which Lloyd iterations rarely undo. When
    every vector is already a seed (N < K) the rest are duplicates, which restarts later move.
    """
    trials = 2 + int(math.log(k))
    seeds = torch.empty(k, dtype=torch.long)
    seeds[0] = torch.randint(x.shape[0], ())
    d2 = torch.cdist(x[seeds[:1]], x).square()[0]  # (N,) squared distance to the nearest seed
    for i in range(1, k):
        weights = d2 if bool(d2.sum() > 0) else torch.ones_like(d2)
        candidates = torch.multinomial(weights, trials, replacement=True)  # (L,)
        after = torch.minimum(d2, torch.cdist(x[candidates], x).square())  # (L, N)
        best = after.sum(dim=1).argmin()
        seeds[i], d2 = candidates[best], after[best]
    return x[seeds].clone()


def kmeans(x: Tensor, k: int, iters: int) -> tuple[Tensor, Tensor]:
    """k-means++ seeding then ``iters`` Lloyd iterations: (N, D) -> centres (K, D), counts (K,).

    A centre that loses all its vectors keeps its place; counts are the final assignment sizes.
    """
    centres = kmeans_plus_plus(x, k)
    for _ in range(iters):
        ids = nearest_code(x, centres)
        counts = torch.bincount(ids, minlength=k).to(x.dtype)  # (K,)
        sums = torch.zeros_like(centres).index_add_(0, ids, x)  # (K, D)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
    counts = torch.bincount(nearest_code(x, centres), minlength=k).to(x.dtype)
    return centres, counts


def perplexity(counts: Tensor) -> float:
    """exp(entropy) of a code histogram (K,): the effective number of codes in use, 1..K."""
    p = counts[counts > 0].double() / counts.sum()
    return math.exp(float(-(p * p.log()).sum()))


@dataclass(frozen=True)
class CodebookStats:
    """The health of one codebook over one training step."""

    usage: float  # fraction of the K codes picked at least once this step, 0..1
    perplexity: float  # exp(entropy) of this step's code histogram, 1..K
    dead: int  # codes whose EMA count is below the dead threshold after the step
    restarts: int  # dead codes re-seeded from this step's vectors


@dataclass(frozen=True)
class Quantized:
    """What a quantiser returns for a batch of vectors."""

    quantized: Tensor  # (..., D) codes; gradients pass straight through to the input
    ids: Tensor  # (...) for one codebook, (..., Q) for a residual quantiser; int64
    commitment_loss: Tensor  # () β-weighted, summed over codebooks
    stats: tuple[CodebookStats, ...]  # one per codebook in training; empty in eval


def straight_through(x: Tensor, q: Tensor) -> Tensor:
    """The value of ``q`` with the gradient of ``x``: argmin has none, so copy the input's."""
    return x + (q - x).detach()


class VectorQuantizer(nn.Module):
    """One EMA codebook: (..., D) vectors -> nearest codes and their ids (...)."""

    def __init__(self, config: QuantizerConfig) -> None:
        super().__init__()
        self.config = config
        k, d = config.codebook_size, config.dim
        codebook = torch.zeros(k, d) if config.kmeans_init else torch.randn(k, d)
        self.register_buffer("codebook", codebook)  # (K, D)
        self.register_buffer("ema_count", torch.ones(k))  # (K,) vectors per step
        self.register_buffer("ema_sum", codebook.clone())  # (K, D) sum of those vectors
        self.register_buffer("initialised", torch.tensor(not config.kmeans_init))

    def encode(self, x: Tensor) -> Tensor:
        """(..., D) -> ids (...), int64."""
        return nearest_code(x.reshape(-1, self.config.dim), self.codebook).view(x.shape[:-1])

    def decode(self, ids: Tensor) -> Tensor:
        """ids (...) -> codes (..., D)."""
        return F.embedding(ids, self.codebook)

    def forward(self, x: Tensor) -> Quantized:
        """(..., D) -> Quantized; in training, also learns the codebook from this batch."""
        flat = x.detach().reshape(-1, self.config.dim)  # (N, D)
        if self.training and not self.initialised:
            self._kmeans_init(flat)
        ids = nearest_code(flat, self.codebook)  # (N,)
        codes = F.embedding(ids, self.codebook).view_as(x)
        loss = self.config.commitment_weight * F.mse_loss(x, codes)
        stats = (self._learn(flat, ids),) if self.training else ()
        return Quantized(straight_through(x, codes), ids.view(x.shape[:-1]), loss, stats)

    @torch.no_grad()
    def _kmeans_init(self, flat: Tensor) -> None:
        centres, counts = kmeans(flat, self.config.codebook_size, self.config.kmeans_iters)
        self.codebook.copy_(centres)
        self.ema_count.copy_(counts)
        self.ema_sum.copy_(centres * counts[:, None])
        self.initialised.fill_(True)

    @torch.no_grad()
    def _learn(self, flat: Tensor, ids: Tensor) -> CodebookStats:
        """EMA update of counts, sums and codes from (N, D) vectors and their ids; then restarts."""
        c = self.config
        counts = torch.bincount(ids, minlength=c.codebook_size).to(flat.dtype)  # (K,)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, ids, flat)  # (K, D)
        self.ema_count.lerp_(counts, 1 - c.decay)
        self.ema_sum.lerp_(sums, 1 - c.decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + c.eps) / (total + c.codebook_size * c.eps) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        dead = self.ema_count < c.dead_threshold  # (K,)
        restarts = self._restart(flat, dead) if c.restart_dead else 0
        return CodebookStats(
            usage=float((counts > 0).float().mean()),
            perplexity=perplexity(counts),
            dead=int(dead.sum()) - restarts,
            restarts=restarts,
        )

    def _restart(self, flat: Tensor, dead: Tensor) -> int:
        """Move dead codes onto distinct vectors of the batch, as if each had just been picked
        ``dead_threshold`` times. With more dead codes than vectors, a random subset moves."""
        dead_ids = dead.nonzero().squeeze(1)
        dead_ids = dead_ids[torch.randperm(dead_ids.numel())[: flat.shape[0]]]
        samples = flat[torch.randperm(flat.shape[0])[: dead_ids.numel()]]  # (R, D)
        self.codebook[dead_ids] = samples
        self.ema_sum[dead_ids] = samples * self.config.dead_threshold
        self.ema_count[dead_ids] = self.config.dead_threshold
        return dead_ids.numel()


class ResidualQuantizer(nn.Module):
    """Q codebooks in turn, each quantising what those before left: (..., D) -> ids (..., Q).

    With ``dropout``, each training item keeps a random prefix of 1..Q codebooks in its output
    (SoundStream's quantiser dropout), so a decoder learns to decode any prefix. Every codebook
    still sees its residual of every item, so all of them learn and report stats each step.
    """

    def __init__(self, config: QuantizerConfig, num_quantizers: int, dropout: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(VectorQuantizer(config) for _ in range(num_quantizers))
        self.dropout = dropout

    @property
    def num_quantizers(self) -> int:
        return len(self.layers)

    def encode(self, x: Tensor) -> Tensor:
        """(..., D) -> ids (..., Q): greedy, each codebook on the residual of those before it."""
        residual, ids = x.detach(), []
        for layer in self.layers:
            ids.append(layer.encode(residual))
            residual = residual - layer.decode(ids[-1])
        return torch.stack(ids, dim=-1)

    def decode(self, ids: Tensor) -> Tensor:
        """ids (..., n) with n ≤ Q -> (..., D): the sum of the first n codebooks' codes."""
        codes = [layer.decode(ids[..., q]) for q, layer in enumerate(self.layers[: ids.shape[-1]])]
        return torch.stack(codes).sum(dim=0)

    def forward(self, x: Tensor) -> Quantized:
        """(B, ..., D) -> Quantized with ids (B, ..., Q) and commitment summed over codebooks."""
        residual, total = x, torch.zeros_like(x)
        keep = self._prefix_mask(x) if self.training and self.dropout else None
        ids, stats, loss = [], [], x.new_zeros(())
        for q, layer in enumerate(self.layers):
            out = layer(residual)
            codes = out.quantized.detach()
            total = total + (codes if keep is None else codes * keep[q])
            residual = residual - codes
            ids.append(out.ids)
            stats.extend(out.stats)
            loss = loss + out.commitment_loss
        return Quantized(straight_through(x, total), torch.stack(ids, dim=-1), loss, tuple(stats))

    def _prefix_mask(self, x: Tensor) -> Tensor:
        """(Q, B, 1, …, 1) float: item b keeps codebook q when q < n_b, n_b uniform in 1..Q."""
        kept = torch.randint(1, self.num_quantizers + 1, (x.shape[0],))  # (B,)
        mask = torch.arange(self.num_quantizers)[:, None] < kept[None]  # (Q, B)
        return mask.to(x.dtype).view(self.num_quantizers, x.shape[0], *([1] * (x.dim() - 1)))


class CodebookMonitor:
    """A training run's history: one JSON-ready row per step with its metrics and, per codebook,
    its :class:`CodebookStats`. Rows are plain data so a resumed run appends to the saved ones."""

    def __init__(self, rows: Sequence[dict[str, Any]] = ()) -> None:
        self.rows: list[dict[str, Any]] = list(rows)

    def record(self, step: int, stats: Sequence[CodebookStats], **metrics: float) -> dict[str, Any]:
        """Append and return the row of ``step``: metrics (loss, reconstruction) and stats."""
        row = {"step": step, **metrics, "codebooks": [asdict(s) for s in stats]}
        self.rows.append(row)
        return row

    def series(self, key: str, codebook: int | None = None) -> list[float]:
        """A metric over steps, or one codebook's stat (``usage``, ``perplexity``, ...)."""
        if codebook is None:
            return [row[key] for row in self.rows]
        return [row["codebooks"][codebook][key] for row in self.rows]
