"""Quantisers: nearest codes, EMA learning, k-means init, restarts, commitment, RVQ, monitoring."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from vector_quantize_pytorch import ResidualVQ, VectorQuantize

from mmtok.discrete.quantize import (
    CodebookMonitor,
    QuantizerConfig,
    ResidualQuantizer,
    VectorQuantizer,
    nearest_code,
    perplexity,
)


def gaussian_mixture(n: int, centres: torch.Tensor, seed: int) -> torch.Tensor:
    """(n, D) points: a uniformly chosen centre plus N(0, 1) noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(centres), (n,), generator=g)
    return centres[labels] + torch.randn(n, centres.shape[1], generator=g)


def mixture_centres(k: int, dim: int, seed: int) -> torch.Tensor:
    """(k, D) centres around (20, …, 20), spread 8 per axis: far apart and far from 0."""
    g = torch.Generator().manual_seed(seed)
    return 20 + 8 * torch.randn(k, dim, generator=g)


def test_nearest_code_by_hand_and_against_brute_force() -> None:
    codebook = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.tensor([[1.0, 1.0], [9.0, 2.0], [-1.0, 7.0], [6.0, 6.0]])
    # (6, 6) is 52 from codes 1 and 2 (squared) and 72 from code 0: the lower id wins the tie
    assert nearest_code(x, codebook).tolist() == [0, 1, 2, 1]
    g = torch.Generator().manual_seed(0)
    x, codebook = torch.randn(3000, 16, generator=g), torch.randn(1500, 16, generator=g)
    brute = torch.cdist(x.double(), codebook.double()).argmin(dim=1)
    assert torch.equal(nearest_code(x, codebook), brute)


def test_ids_match_vector_quantize_pytorch() -> None:
    """The reference library's eval forward picks the same codes from the same codebook."""
    torch.manual_seed(0)
    ours = VectorQuantizer(QuantizerConfig(dim=32, codebook_size=256, kmeans_init=False)).eval()
    lib = VectorQuantize(dim=32, codebook_size=256).eval()
    with torch.no_grad():
        lib.codebook = ours.codebook
    x = torch.randn(4, 500, 32)
    _, lib_ids, _ = lib(x)
    assert torch.equal(ours(x).ids, lib_ids)
    assert torch.equal(ours.encode(x), lib_ids)


def test_perplexity_by_hand() -> None:
    assert perplexity(torch.tensor([5, 5, 5, 5])) == pytest.approx(4)
    assert perplexity(torch.tensor([7, 0, 0, 0])) == pytest.approx(1)
    # p = (1/2, 1/4, 1/4): H = 1.5 ln 2, so exp(H) = 2^1.5
    assert perplexity(torch.tensor([2, 1, 1, 0])) == pytest.approx(2**1.5)


def test_commitment_loss_is_the_mean_squared_error() -> None:
    """β·mean((x − sg(q))²): codes (0, 0), (10, 0); x (1, 0) → code 0, x (9, 1) → code 1;
    squared errors 1 + 0 + 1 + 1 over 4 elements = 0.75."""
    vq = VectorQuantizer(QuantizerConfig(dim=2, codebook_size=2, commitment_weight=0.4))
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
        vq.initialised.fill_(True)
    x = torch.tensor([[1.0, 0.0], [9.0, 1.0]], requires_grad=True)
    out = vq.train()(x)
    assert out.ids.tolist() == [0, 1]
    assert float(out.commitment_loss.detach()) == pytest.approx(0.4 * 0.75)
    # straight-through: the output has the codes' value and the input's gradient
    assert out.quantized.tolist() == [[0.0, 0.0], [10.0, 0.0]]
    out.quantized.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_ema_update_by_hand() -> None:
    """decay 0.5, codes 0 and 10 (counts 1, sums 0 and 10), batch 1, 3, 9 → ids 0, 0, 1:
    counts → 0.5·1 + 0.5·(2, 1) = (1.5, 1); sums → 0.5·(0, 10) + 0.5·(4, 9) = (2, 9.5);
    codes → sums / counts = (1.333…, 9.5)."""
    config = QuantizerConfig(dim=1, codebook_size=2, decay=0.5, kmeans_init=False, eps=1e-9)
    vq = VectorQuantizer(config).train()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0], [10.0]]))
        vq.ema_sum.copy_(vq.codebook)
    out = vq(torch.tensor([[1.0], [3.0], [9.0]]))
    assert vq.ema_count.tolist() == [1.5, 1.0]
    assert vq.ema_sum.flatten().tolist() == [2.0, 9.5]
    assert vq.codebook.flatten().tolist() == pytest.approx([2 / 1.5, 9.5], rel=1e-6)
    assert out.stats[0].usage == 1.0
    assert out.stats[0].perplexity == pytest.approx(
        math.exp(-(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3))
    )


def test_kmeans_init_reaches_perplexity_of_the_mixture() -> None:
    """K codes on a mixture of K equally likely clusters: perplexity ≥ 0.9·K."""
    k, dim = 16, 8
    torch.manual_seed(0)
    centres = mixture_centres(k, dim, seed=1)
    vq = VectorQuantizer(QuantizerConfig(dim=dim, codebook_size=k, decay=0.9)).train()
    stats = [vq(gaussian_mixture(1024, centres, seed=step)).stats[0] for step in range(20)]
    assert stats[-1].perplexity >= 0.9 * k
    held_out = vq.eval().encode(gaussian_mixture(4096, centres, seed=99))
    assert perplexity(torch.bincount(held_out, minlength=k)) >= 0.9 * k


def _collapsed(restart_dead: bool) -> VectorQuantizer:
    """K = 16 codes of which 15 sit far from the data (at −20·1) and one at its mean, all
    counted as if equally used: the others die as their EMA counts decay."""
    config = QuantizerConfig(dim=8, codebook_size=16, decay=0.8, restart_dead=restart_dead)
    vq = VectorQuantizer(config).train()
    with torch.no_grad():
        vq.codebook.fill_(-20.0)
        vq.codebook[0] = 20.0
        vq.ema_count.fill_(64.0)  # 1024 vectors per step over 16 codes
        vq.ema_sum.copy_(vq.codebook * 64.0)
        vq.initialised.fill_(True)
    return vq


def test_dead_code_restarts_undo_a_collapse() -> None:
    torch.manual_seed(0)
    centres = mixture_centres(16, 8, seed=1)
    batches = [gaussian_mixture(1024, centres, seed=step) for step in range(60)]
    with_restarts, without = _collapsed(True), _collapsed(False)
    on = [with_restarts(x).stats[0] for x in batches]
    off = [without(x).stats[0] for x in batches]
    # first both are collapsed: one code takes every vector
    assert on[0].usage == off[0].usage == 1 / 16
    # 64·0.8^s < 0.25 from step s = 25: the 15 idle codes die; restarts re-seed them
    assert sum(s.restarts for s in on) >= 15
    assert on[-1].usage > 0.9 and on[-1].dead == 0
    assert on[-1].perplexity > 8
    # without restarts, nothing brings the codes back
    assert all(s.restarts == 0 for s in off)
    assert off[-1].usage == 1 / 16 and off[-1].dead == 15 and off[-1].perplexity == 1


def _trained_rvq(num_quantizers: int, dropout: bool) -> tuple[ResidualQuantizer, torch.Tensor]:
    torch.manual_seed(0)
    rvq = ResidualQuantizer(
        QuantizerConfig(dim=8, codebook_size=32, decay=0.8), num_quantizers, dropout
    ).train()
    data = torch.randn(4096, 8)
    for step in range(10):
        rvq(data[step * 256 : (step + 1) * 256][None])
    return rvq.eval(), data


def test_rvq_error_falls_with_every_codebook() -> None:
    rvq, data = _trained_rvq(6, dropout=False)
    ids = rvq.encode(data)  # (N, 6)
    errors = [float((rvq.decode(ids[:, :n]) - data).square().mean()) for n in range(1, 7)]
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))
    assert errors[-1] < 0.5 * errors[0]


def test_rvq_ids_match_the_library_residual_vq() -> None:
    rvq, data = _trained_rvq(4, dropout=False)
    lib = ResidualVQ(dim=8, num_quantizers=4, codebook_size=32).eval()
    with torch.no_grad():
        for ours, theirs in zip(rvq.layers, lib.layers, strict=True):
            theirs.codebook = ours.codebook
    _, lib_ids, _ = lib(data[None])
    assert torch.equal(rvq.encode(data), lib_ids[0])


def test_quantizer_dropout_keeps_a_prefix_per_item() -> None:
    rvq, data = _trained_rvq(4, dropout=True)
    x = data[:64].view(64, 1, 8)  # 64 items of one vector
    codebooks = [layer.codebook.clone() for layer in rvq.layers]  # as each layer looks up
    torch.manual_seed(1)
    out = rvq.train()(x)
    codes = [codebooks[q][out.ids[..., q]] for q in range(4)]  # (64, 1, 8) each
    prefix_sums = torch.stack([sum(codes[:n]) for n in range(1, 5)])  # (4, 64, 1, 8)
    kept = []
    for item in range(64):
        close = [torch.allclose(out.quantized[item], s[item], atol=1e-5) for s in prefix_sums]
        assert any(close), f"item {item} is not a prefix sum"
        kept.append(close.index(True) + 1)
    assert set(kept) == {1, 2, 3, 4}  # every prefix length occurs
    assert len(out.stats) == 4  # every codebook still learns and reports


def test_monitor_rows_and_series() -> None:
    vq = VectorQuantizer(QuantizerConfig(dim=2, codebook_size=4)).train()
    monitor = CodebookMonitor()
    torch.manual_seed(0)
    for step in range(3):
        out = vq(torch.randn(64, 2))
        monitor.record(step + 1, out.stats, loss=float(out.commitment_loss.detach()))
    assert monitor.series("step") == [1, 2, 3]
    assert len(monitor.series("usage", codebook=0)) == 3
    assert set(monitor.rows[0]["codebooks"][0]) == {"usage", "perplexity", "dead", "restarts"}
    assert CodebookMonitor(monitor.rows).rows == monitor.rows
