"""Codec token accounting: published bitrates, exact token counts, and the three code layouts."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmtok.discrete.codec_spec import (
    PRESETS,
    CodecSpec,
    delay_pattern,
    frame_major,
    from_frame_major,
    from_parallel_streams,
    parallel_streams,
    undo_delay_pattern,
)
from mmtok.errors import ConfigError, RequestError


@pytest.mark.parametrize(
    ("kbps", "codebooks"), [("1.5", 2), ("3", 4), ("6", 8), ("12", 16), ("24", 32)]
)
def test_encodec_24khz_bitrates(kbps: str, codebooks: int) -> None:
    """EnCodec (Défossez et al., 2022, §3 and Table 1): 24 kHz, strides 2·4·5·8 = 320 → 75 Hz,
    codebooks of 1024 entries (10 bits), 2/4/8/16/32 codebooks for 1.5/3/6/12/24 kbps."""
    spec = PRESETS[f"encodec-24khz-{kbps}kbps"]
    assert spec.frame_rate == 75
    assert spec.num_codebooks == codebooks
    assert spec.tokens_per_second == 75 * codebooks
    assert spec.bitrate == float(kbps) * 1000


def test_dac_44khz_bitrate() -> None:
    """DAC (Kumar et al., 2023, "High-Fidelity Audio Compression with Improved RVQGAN"):
    44.1 kHz, hop 512 → 86.1328125 Hz, 9 codebooks of 1024 → 90 bits per frame =
    7751.953125 b/s, which the paper rounds to its nominal "8 kbps"."""
    spec = PRESETS["dac-44khz"]
    assert spec.frame_rate == Fraction(44_100, 512) == 86.1328125
    assert spec.tokens_per_second == Fraction(9 * 44_100, 512)
    assert spec.bitrate == 7751.953125
    assert round(spec.bitrate / 1000, 2) == 7.75
    assert round(spec.bitrate / 1000) == 8


def test_snac_24khz_bitrate() -> None:
    """SNAC (Siuzdak et al., 2024; hubertsiuzdak/snac model card): 24 kHz, three scales at
    ~12, 23, 47 Hz (hop 512 with strides 4, 2, 1), 4096 codes (12 bits): 0.98 kbps."""
    spec = PRESETS["snac-24khz"]
    assert spec.codebook_rates == (11.71875, 23.4375, 46.875)
    assert [round(float(r)) for r in spec.codebook_rates] == [12, 23, 47]
    assert spec.bitrate == (11.71875 + 23.4375 + 46.875) * 12 == 984.375
    assert round(spec.bitrate / 1000, 2) == 0.98


def test_mimi_bitrate() -> None:
    """Mimi (Kyutai, "Moshi", 2024, §3.3): 24 kHz at 12.5 Hz, 8 codebooks of 2048 (11 bits)
    → 1.1 kbps; the released model has 32 codebooks → 4.4 kbps."""
    assert PRESETS["mimi"].frame_rate == 12.5
    assert PRESETS["mimi"].bitrate == 1100
    assert PRESETS["mimi-32"].bitrate == 4400


def test_with_codebooks_lowers_the_bitrate() -> None:
    full = PRESETS["encodec-24khz-24kbps"]
    assert full.with_codebooks(2).bitrate == PRESETS["encodec-24khz-1.5kbps"].bitrate
    assert PRESETS["snac-24khz"].with_codebooks(1).bitrate == 11.71875 * 12


def test_token_counts_use_ceil_frames() -> None:
    """frames = ceil(samples / hop): a partial last frame costs a whole frame."""
    encodec = PRESETS["encodec-24khz-6kbps"]  # hop 320, 8 codebooks
    assert encodec.num_tokens(24_000) == 75 * 8
    assert encodec.num_tokens(1) == 8
    assert encodec.num_tokens(320) == 8
    assert encodec.num_tokens(321) == 16
    assert encodec.num_tokens(0) == 0
    assert encodec.num_tokens(encodec.num_samples(2.5)) == 188 * 8  # 187.5 frames, rounded up
    # SNAC, 1 s: ceil(24000/2048) + ceil(24000/1024) + ceil(24000/512) = 12 + 24 + 47.
    assert PRESETS["snac-24khz"].num_tokens(24_000) == 83
    assert PRESETS["mimi"].num_tokens(PRESETS["mimi"].num_samples(10)) == 125 * 8


def test_sequence_length_per_layout() -> None:
    encodec = PRESETS["encodec-24khz-6kbps"]  # 75 frames of 8 in one second
    assert encodec.sequence_length(24_000, "frame-major") == 600
    assert encodec.sequence_length(24_000, "delay") == (75 + 7) * 8
    assert encodec.sequence_length(24_000, "parallel") == 75
    assert PRESETS["snac-24khz"].sequence_length(24_000, "frame-major") == 83
    with pytest.raises(ConfigError, match="single-scale"):
        PRESETS["snac-24khz"].sequence_length(24_000, "delay")


@given(st.integers(0, 10**7), st.sampled_from(sorted(PRESETS)))
def test_token_count_is_the_sum_of_ceil_frames(samples: int, name: str) -> None:
    spec = PRESETS[name]
    frames = [-(-samples // (spec.hop_length * s)) for s in spec.strides]
    assert spec.num_tokens(samples) == sum(frames)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ConfigError, match="scale strides"):
        CodecSpec("x", 24_000, 512, 3, 4096, scale_strides=(4, 2))
    with pytest.raises(ConfigError, match="≥ 1"):
        CodecSpec("x", 24_000, 0, 3, 4096)


def test_layouts_by_hand() -> None:
    codes = torch.tensor([[1, 2], [3, 4]])  # frames t1, t2 of codebooks c1, c2
    assert frame_major(codes).tolist() == [1, 2, 3, 4]
    assert delay_pattern(codes, pad=-1).tolist() == [[1, -1], [3, 2], [-1, 4]]
    assert parallel_streams(codes).tolist() == [[1, 3], [2, 4]]


codes_arrays = arrays(
    "int64",
    st.tuples(st.integers(0, 2), st.integers(0, 12), st.integers(1, 9)),
    elements=st.integers(0, 4095),
)


@given(codes_arrays)
def test_layouts_round_trip(array) -> None:
    codes = torch.from_numpy(array)  # (B, T, Q)
    books = codes.shape[-1]
    assert torch.equal(from_frame_major(frame_major(codes), books), codes)
    delayed = delay_pattern(codes, pad=-1)
    assert delayed.shape[-2] == codes.shape[-2] + books - 1
    assert torch.equal(undo_delay_pattern(delayed), codes)
    assert int((delayed == -1).sum()) == codes.shape[0] * books * (books - 1)
    assert torch.equal(from_parallel_streams(parallel_streams(codes)), codes)


def test_malformed_layouts_are_refused() -> None:
    with pytest.raises(RequestError, match="whole frames"):
        from_frame_major(torch.arange(7), 2)
    with pytest.raises(RequestError, match="no frame"):
        undo_delay_pattern(torch.zeros(1, 4, dtype=torch.long))
