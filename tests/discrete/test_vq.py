"""The VQ image tokenizer: a tiny model trained on generated images; grids, flattening and
stable ids."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmtok.discrete.quantize import QuantizerConfig
from mmtok.discrete.training import TrainConfig, init_model, train
from mmtok.discrete.vq import (
    VQImageConfig,
    VQImageTokenizer,
    flatten_grid,
    image_to_pixels,
    pixels_to_image,
    psnr,
    unflatten_grid,
)
from mmtok.errors import ConfigError, RequestError

# Canonical ids measured 16.1 dB (the 128-code model before: 14.7 dB here, 12.9 dB on one
# worker thread of another CPU); the bar leaves margin for other CPUs' arithmetic. Nearest-code
# ids are held to baselines measured in the same run instead (see the baseline tests below).
MIN_CANONICAL_PSNR_DB = 12.0


def synthetic_images(n: int, size: int, seed: int) -> torch.Tensor:
    """(n, 3, size, size) in [0, 1]: a linear gradient between two random colours in a random
    direction, with a disc of a third colour at a random place and radius."""
    g = torch.Generator().manual_seed(seed)
    axis = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    out = torch.empty(n, 3, size, size)
    for i in range(n):
        a, b, disc = torch.rand(3, 3, 1, 1, generator=g)
        angle = 2 * math.pi * torch.rand((), generator=g)
        t = ((xx - 0.5) * torch.cos(angle) + (yy - 0.5) * torch.sin(angle)) * 0.7 + 0.5
        cx, cy, r = torch.rand(3, generator=g) * torch.tensor([0.6, 0.6, 0.25]) + torch.tensor(
            [0.2, 0.2, 0.1]
        )
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r**2
        out[i] = torch.where(inside, disc, a * (1 - t) + b * t)
    return out


def small_vq_config() -> VQImageConfig:
    quantizer = QuantizerConfig(dim=8, codebook_size=1024, decay=0.9, dead_threshold=0.25)
    return VQImageConfig(quantizer, downsample=8, channels=32, image_size=32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[VQImageTokenizer, Path]:
    """600 steps of 32 images of 32×32 (4×4 tokens), the first 150 a warm-up without the
    quantiser, then 1,024 codes of dim 8: about 15–20 s of one CPU thread."""
    model = init_model(small_vq_config(), seed=0)
    out = tmp_path_factory.mktemp("vq")
    config = TrainConfig(
        steps=600, batch_size=32, learning_rate=2e-3, save_every=600, warmup_steps=150
    )
    train(model, synthetic_images(2048, 32, seed=0), out, config)
    return model.eval(), out


def test_psnr_by_hand() -> None:
    reference = torch.zeros(1, 3, 4, 4)
    assert psnr(reference + 0.1, reference) == pytest.approx(20.0)  # MSE 0.01
    assert psnr(reference + 0.01, reference) == pytest.approx(40.0)


def test_grid_shape_follows_the_downsampling() -> None:
    torch.manual_seed(0)
    model = VQImageTokenizer(small_vq_config()).eval()
    assert model.encode(torch.rand(2, 3, 32, 48)).shape == (2, 4, 6)
    assert model.decode(torch.zeros(2, 4, 6, dtype=torch.long)).shape == (2, 3, 32, 48)
    sixteen = VQImageTokenizer(VQImageConfig(small_vq_config().quantizer, downsample=16)).eval()
    assert sixteen.encode(torch.rand(1, 3, 64, 32)).shape == (1, 4, 2)


def flat_colour(images: torch.Tensor) -> torch.Tensor:
    """Each image replaced by its mean colour: the floor any image tokenizer must clear."""
    return images.mean(dim=(2, 3), keepdim=True).expand_as(images)


def block_average(images: torch.Tensor, f: int) -> torch.Tensor:
    """Each f×f block replaced by its mean colour: a grid as coarse as the tokenizer's, with
    exact (unquantised) colours."""
    means = torch.nn.functional.avg_pool2d(images, f)
    return means.repeat_interleave(f, dim=2).repeat_interleave(f, dim=3)


def test_trained_tokenizer_beats_the_flat_colour_baseline(trained) -> None:
    model, _ = trained
    held_out = synthetic_images(128, 32, seed=1)
    ours = psnr(model.decode(model.encode(held_out)), held_out)
    assert ours > psnr(flat_colour(held_out), held_out)
    canonical = model.encode(held_out, canonical=True)
    assert psnr(model.decode(canonical), held_out) >= MIN_CANONICAL_PSNR_DB


def test_trained_tokenizer_beats_the_block_average_baseline(trained) -> None:
    """The stronger baseline: exact mean colours of the same 8×8 blocks, one per id."""
    model, _ = trained
    held_out = synthetic_images(128, 32, seed=1)
    baseline = psnr(block_average(held_out, model.config.downsample), held_out)
    assert psnr(model.decode(model.encode(held_out)), held_out) > baseline


def test_encode_decode_encode_returns_the_same_ids(trained) -> None:
    model, _ = trained
    images = synthetic_images(128, 32, seed=2)
    ids = model.encode(images, canonical=True)
    assert torch.equal(model.encode(model.decode(ids)), ids)
    assert torch.equal(model.encode(model.decode(ids), canonical=True), ids)
    # through 8-bit images too, as a PNG stores them
    decoded = [pixels_to_image(p) for p in model.decode(ids)]
    assert torch.equal(model.encode(torch.stack([image_to_pixels(im) for im in decoded])), ids)
    # plain nearest-code ids mostly, but not all, survive the round trip
    raw = model.encode(images)
    agreement = float((model.reencode(raw) == raw).float().mean())
    assert 0.3 < agreement < 1


def test_quantiser_round_trip_is_exact(trained) -> None:
    """At the codebook itself, ids -> codes -> ids is the identity (distinct codes)."""
    model, _ = trained
    ids = torch.arange(model.config.quantizer.codebook_size).view(-1, 1)
    assert torch.equal(model.quantizer.encode(model.quantizer.decode(ids)), ids)


def test_codebook_stays_in_use(trained) -> None:
    model, _ = trained
    ids = model.encode(synthetic_images(256, 32, seed=3))
    used = torch.unique(ids).numel()
    assert used >= 0.5 * model.config.quantizer.codebook_size


def test_flatten_grid_by_hand() -> None:
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert flatten_grid(ids).tolist() == [1, 2, 3, 4, 5, 6]
    assert flatten_grid(ids, row_separator=9).tolist() == [1, 2, 3, 9, 4, 5, 6, 9]
    assert unflatten_grid(torch.tensor([1, 2, 3, 9, 4, 5, 6, 9]), row_separator=9).tolist() == [
        [1, 2, 3],
        [4, 5, 6],
    ]


@given(
    arrays("int64", st.tuples(st.integers(1, 8), st.integers(1, 8)), elements=st.integers(0, 99)),
    st.booleans(),
)
def test_flatten_grid_round_trips(grid, separated: bool) -> None:
    ids = torch.from_numpy(grid)
    separator = 100 if separated else None
    flat = flatten_grid(ids, row_separator=separator)
    assert flat.numel() == ids.numel() + (ids.shape[0] if separated else 0)
    width = None if separated else ids.shape[1]
    assert torch.equal(unflatten_grid(flat, width=width, row_separator=separator), ids)


def test_malformed_grids_are_refused() -> None:
    with pytest.raises(RequestError, match="separator"):
        unflatten_grid(torch.tensor([1, 2, 9, 3, 9]), row_separator=9)  # rows of 2 and 1
    with pytest.raises(RequestError, match="separator"):
        unflatten_grid(torch.tensor([1, 2, 9, 3, 4]), row_separator=9)  # last row unterminated
    with pytest.raises(RequestError, match="width 4"):
        unflatten_grid(torch.arange(6), width=4)
    torch.manual_seed(0)
    model = VQImageTokenizer(small_vq_config())
    with pytest.raises(RequestError, match=r"\[0, 1024\)"):
        model.ids_to_image(torch.tensor([[0, 1024]]))


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ConfigError, match="power of two"):
        VQImageConfig(downsample=12, image_size=48)
    with pytest.raises(ConfigError, match="power of two"):
        VQImageConfig(downsample=8, image_size=36)
    with pytest.raises(ConfigError, match="decay"):
        QuantizerConfig(decay=1.0)
