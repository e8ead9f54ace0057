"""Video probing and decoding on videos written by the tests themselves."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mmtok.video.frames as video
from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    TruncatedMediaError,
    UnsupportedMediaError,
)
from mmtok.profiles import get_profile
from mmtok.video.frames import decode_frames, frame_table, packets_needed, select_frames
from mmtok.video.pixels import load_video
from mmtok.video.plan import count_video
from mmtok.video.probe import probe_video
from mmtok.video.sampling import sampling_for
from tests.media_factory import (
    gradient_frame,
    index_frame,
    read_index,
    tone,
    write_compressed_audio,
    write_sound,
    write_video,
)

QWEN = get_profile("qwen2-vl")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video")


@pytest.fixture(scope="module")
def indexed(media: Path) -> Path:
    """200 frames at 30 fps, 64×48, keyframe every 12 frames, 2 B-frames."""
    return write_video(media / "indexed.mp4", index_frame(64, 48), 200, gop=12, bframes=2)


@pytest.fixture(scope="module")
def all_frames(indexed: Path) -> np.ndarray:
    with av.open(str(indexed)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_probe_reads_header_facts(indexed: Path) -> None:
    info = probe_video(indexed)
    assert (info.kind, info.format, info.width, info.height) == ("video", "mp4", 64, 48)
    assert info.fps == 30.0 and info.frame_count == 200
    assert info.duration == pytest.approx(200 / 30, abs=0.01)
    assert info.rotation == 0 and not info.has_audio


def test_probe_accepts_bytes(indexed: Path) -> None:
    info = probe_video(indexed.read_bytes())
    assert info.source == "<bytes>" and info.frame_count == 200


def test_frame_table_has_every_frame_and_gop_keyframes(indexed: Path) -> None:
    table = frame_table(indexed)
    assert len(table.pts) == 200
    assert table.keyframes.tolist() == list(range(0, 200, 12))
    assert table.seconds([0, 30])[1] == pytest.approx(1.0)


def test_every_frame_reads_back_its_index(all_frames: np.ndarray) -> None:
    assert [read_index(f) for f in all_frames] == list(range(200))


@settings(max_examples=12)
@given(st.sets(st.integers(0, 199), min_size=1, max_size=30))
def test_decode_only_sampled_frames_matches_full_decode(
    indexed: Path, all_frames: np.ndarray, picks: set[int]
) -> None:
    idx = sorted(picks)
    frames = decode_frames(indexed, idx)
    assert [read_index(f) for f in frames] == idx
    np.testing.assert_array_equal(frames, all_frames[idx])


def test_dense_and_sparse_targets(indexed: Path, all_frames: np.ndarray) -> None:
    dense = list(range(0, 200, 2))
    sparse = [5, 100, 190]
    np.testing.assert_array_equal(decode_frames(indexed, dense), all_frames[dense])
    np.testing.assert_array_equal(decode_frames(indexed, sparse), all_frames[sparse])


def test_long_gaps_are_skipped_by_seeking(
    indexed: Path, all_frames: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video, "SEEK_GAP", 5)  # seek past any run of more than 5 packets
    idx = [3, 40, 41, 100, 170, 199]
    np.testing.assert_array_equal(decode_frames(indexed, idx), all_frames[idx])


def test_packets_needed_by_hand() -> None:
    # Decode order I0 P3 B1 B2 | I4 P7 B5 B6 | I8 P9 (pts); keyframes at 0, 4, 8.
    pts = np.array([0, 3, 1, 2, 4, 7, 5, 6, 8, 9])
    key = np.array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0], dtype=bool)
    # Target B2: its GOP up to B2's packet (I0 P3 B1 B2); GOPs without targets: nothing.
    assert packets_needed(pts, key, np.array([2])).tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    # Targets P7 and I8: GOP 2 up to P7 only, GOP 3 just its keyframe.
    want = [0, 0, 0, 0, 1, 1, 0, 0, 1, 0]
    assert packets_needed(pts, key, np.array([7, 8])).tolist() == want


def test_packets_needed_open_gop_leading_frame() -> None:
    # Open GOP: I4 is followed (in decode order) by B3, shown before it and referencing GOP 1.
    pts = np.array([0, 2, 1, 4, 3, 6, 5])
    key = np.array([1, 0, 0, 1, 0, 0, 0], dtype=bool)
    assert packets_needed(pts, key, np.array([3])).tolist() == [1, 1, 1, 1, 1, 0, 0]


def test_rotated_stream_is_turned_upright(media: Path) -> None:
    def marked(i: int) -> np.ndarray:
        img = np.zeros((48, 64, 3), dtype=np.uint8)
        img[:8, :8] = 255  # a white block at the stored top-left corner
        return img

    # Display matrix: 90° counter-clockwise. The stored top-left ends at the bottom-left.
    path = write_video(media / "rotated.mp4", marked, 6, rotation=90)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 270)
    frame = decode_frames(path, [2])[0]
    assert frame.shape == (64, 48, 3)
    assert frame[-4, 4].mean() > 200 and frame[4, 4].mean() < 50


def test_variable_frame_rate_frames_are_numbered_in_order(media: Path) -> None:
    pts = [0, 10, 30, 35, 100, 101, 150, 300, 310, 400]  # hundredths of a second
    path = write_video(
        media / "vfr.mp4", index_frame(64, 48), 10, pts=pts, time_base=Fraction(1, 100), gop=4
    )
    table = frame_table(path)
    np.testing.assert_allclose(table.seconds(range(10)), np.array(pts) / 100, atol=1e-3)
    assert [read_index(f) for f in decode_frames(path, [1, 4, 5, 9])] == [1, 4, 5, 9]


def test_odd_size_video_decodes_at_its_size(media: Path) -> None:
    path = write_video(
        media / "odd.mkv", gradient_frame(67, 41), 8, width=67, height=41, codec="mpeg4"
    )
    info = probe_video(path)
    assert (info.width, info.height, info.format) == (67, 41, "mkv")
    assert decode_frames(path, [0, 7]).shape == (2, 41, 67, 3)


def test_select_frames_policies(indexed: Path) -> None:
    info = probe_video(indexed)
    fps = select_frames(indexed, info, sampling_for(QWEN, "fps"))
    # 200 frames / 30 fps · 2 = 13.3 → 12 frames: ⌊i · 200 / 12⌋
    assert fps.indices == (0, 16, 33, 50, 66, 83, 100, 116, 133, 150, 166, 183)
    assert fps.timestamps[1] == pytest.approx(16 / 30) and fps.decoded == "header"
    uni = select_frames(indexed, info, sampling_for(QWEN, "uniform", num_frames=4))
    assert uni.indices == (0, 50, 100, 150)
    key = select_frames(indexed, info, sampling_for(QWEN, "keyframes", max_frames=100))
    assert key.indices == tuple(range(0, 200, 12)) and key.decoded == "packets"


def test_keyframes_of_a_stream_without_keyframe_flags_is_empty(
    indexed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stream whose packets carry no keyframe flag (intra refresh, a damaged index) has
    # nothing to sample: a typed error, not a plan of zero frames (a division by zero).
    real = video.frame_table

    def unflagged(source: Path) -> video.FrameTable:
        t = real(source)
        no_keys = np.zeros_like(t.decode_key)
        return video.FrameTable(t.pts, np.zeros(0, np.int64), t.time_base, t.decode_pts, no_keys)

    monkeypatch.setattr(video, "frame_table", unflagged)
    with pytest.raises(EmptyMediaError, match="keyframe"):
        count_video(indexed, QWEN, sampling_for(QWEN, "keyframes"))


def test_count_and_load_agree(indexed: Path) -> None:
    sampling = sampling_for(QWEN, "uniform", num_frames=4)
    _, selection, plan = count_video(indexed, QWEN, sampling)
    tensors = load_video(indexed, QWEN, sampling)
    # 48×64 is below 128·28² pixels: scaled up to 280×392 → grid 20×28, 2 temporal patches
    assert plan.resized == (280, 392) and plan.grid == (2, 20, 28)
    assert tensors.video_grid_thw.tolist() == [list(plan.grid)]
    assert tensors.pixel_values.shape == (2 * 20 * 28, 3 * 2 * 14 * 14)
    assert selection.indices == (0, 50, 100, 150)


# --- bad input -------------------------------------------------------------------------


def test_audio_only_file_has_no_video_stream(media: Path) -> None:
    wav = write_sound(media / "tone.wav", tone(0.5), 16_000)
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        probe_video(wav)
    m4a = write_compressed_audio(media / "tone.m4a", tone(0.5), 16_000, "aac")
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        probe_video(m4a)


def test_truncated_mp4_is_reported_as_truncated(media: Path, indexed: Path) -> None:
    data = indexed.read_bytes()
    cut = media / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # index (moov) at the end: lost
    with pytest.raises(TruncatedMediaError, match=r"cut\.mp4"):
        probe_video(cut)


def test_truncated_faststart_mp4_is_reported_as_truncated(media: Path) -> None:
    fast = write_video(
        media / "fast.mp4",
        gradient_frame(64, 48),
        60,
        container_options={"movflags": "+faststart"},
    )
    data = fast.read_bytes()
    assert data[4:8] == b"ftyp" and b"moov" in data[: len(data) // 2]
    cut = media / "fast_cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])  # index kept, samples lost
    with pytest.raises(TruncatedMediaError, match="past the end"):
        probe_video(cut)


def test_zero_frame_rate_in_header(media: Path) -> None:
    path = write_video(media / "still.mp4", index_frame(64, 48), 2, bframes=0)
    data = bytearray(path.read_bytes())
    at = data.find(b"stts")
    (entries,) = struct.unpack(">I", data[at + 8 : at + 12])
    for k in range(entries):  # every sample lasts 0 ticks: no frame rate can be derived
        data[at + 16 + 8 * k : at + 20 + 8 * k] = struct.pack(">I", 0)
    zero = media / "zero_fps.mp4"
    zero.write_bytes(bytes(data))
    with pytest.raises(CorruptMediaError, match="frame rate of 0"):
        probe_video(zero)


def test_ten_hour_video_refused_under_one_hour_limit(media: Path) -> None:
    # One frame every 10 minutes: 61 frames, 10 h 10 min, a few kilobytes.
    path = write_video(
        media / "long.mp4", index_frame(16, 16), 61, width=16, height=16,
        fps=Fraction(1, 600), bframes=0,
    )  # fmt: skip
    with pytest.raises(MediaTooLargeError, match=r"above the limit of 3,600\.0 s"):
        probe_video(path, max_duration=3600)
    with pytest.raises(MediaTooLargeError, match=r"above the limit of 14,400\.0 s"):
        probe_video(path)  # the default limit: four hours
    assert probe_video(path, max_duration=None).duration == pytest.approx(36_600)


def test_frames_get_the_image_pixel_limit(indexed: Path) -> None:
    with pytest.raises(MediaTooLargeError, match=r"64×48 = 3,072 pixels per frame"):
        probe_video(indexed, max_pixels=3_000)
    assert probe_video(indexed, max_pixels=3_072).width == 64


def test_empty_garbage_and_missing_files(media: Path) -> None:
    empty = media / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMediaError):
        probe_video(empty)
    junk = media / "junk.mp4"
    junk.write_bytes(b"\x13\x37" * 500)
    with pytest.raises(CorruptMediaError, match=r"junk\.mp4"):
        probe_video(junk)
    with pytest.raises(MediaError, match="not found"):
        probe_video(media / "missing.mp4")


def test_frames_past_the_end_are_reported(indexed: Path) -> None:
    with pytest.raises(TruncatedMediaError, match="frame 250"):
        decode_frames(indexed, [0, 250])
