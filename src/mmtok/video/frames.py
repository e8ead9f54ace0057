"""Video frames with PyAV: the frame table, frame selection, and decoding only the sampled ones.

Three levels of cost, each used only when needed:

- :func:`mmtok.video.probe.probe_video` reads the container header (plus the first frame,
  the only place PyAV exposes the rotation matrix): size, rotation, duration, fps, frame
  count; :func:`select_frames` needs only that for the ``fps`` and ``uniform`` methods.
- :func:`frame_table` demuxes packets without decoding them: every frame's timestamp in
  presentation order and which frames are keyframes.
- :func:`decode_frames` decodes only the packets that lead to a sampled frame: each GOP
  that holds one, from its keyframe to its last sampled frame (:func:`packets_needed`).
  Packets in between are read past, or, over a long gap, skipped by a seek; frames no other
  frame references (most B-frames) are dropped unless sampled. Sparse targets cost one GOP
  prefix each; dense targets become one sequential pass.

:func:`iter_thumbnails` decodes every frame small, for scene detection (``scenes``).
Frame ``i`` is the ``i``-th frame in presentation order, as a full sequential decode
numbers it (transformers' PyAV reader), also for variable frame rate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaTooLargeError,
    TruncatedMediaError,
)
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS
from mmtok.media.container import open_container
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, source_name
from mmtok.video import scenes
from mmtok.video.probe import frame_rotation, video_stream
from mmtok.video.sampling import (
    Sampling,
    fps_indices,
    frame_timestamps,
    header_indices,
    keyframe_indices,
    scene_indices,
)

# Scene detection compares frames at this size (width, height): enough to see a cut, small
# enough that the conversion costs nothing next to decoding.
THUMBNAIL_SIZE = (64, 36)


@dataclass(frozen=True)
class FrameTable:
    """Every frame's timestamp, from packets alone (nothing decoded).

    ``pts`` ``(F,)`` int64 in ``time_base`` units, ascending (presentation order: frame ``i``
    is ``pts[i]``); ``keyframes`` ``(K,)`` int64 indices into ``pts``. ``decode_pts`` and
    ``decode_key`` ``(F,)`` are the same packets in file (decode) order, with their keyframe
    flags: what :func:`packets_needed` plans over.
    """

    pts: np.ndarray
    keyframes: np.ndarray
    time_base: Fraction
    decode_pts: np.ndarray
    decode_key: np.ndarray

    def seconds(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Presentation times (seconds, from the stream's first frame) of frame ``indices``."""
        start = self.pts[0] if len(self.pts) else 0
        return (self.pts[np.asarray(indices, dtype=np.int64)] - start) * float(self.time_base)


def frame_table(source: Source) -> FrameTable:
    """Demux the video stream's packets (no decoding) into a :class:`FrameTable`.

    Raises :class:`EmptyMediaError` when no packet carries a timestamp.
    """
    name = source_name(source)
    pts: list[int] = []
    key: list[bool] = []
    with open_container(source) as container:
        stream = video_stream(container, name)
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                pts.append(packet.pts)
                key.append(packet.is_keyframe)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"packets cannot be read ({exc})") from exc
        time_base = stream.time_base or Fraction(1, 1)
    if not pts:
        raise EmptyMediaError(name, "video stream has no timestamped frames")
    decode_pts = np.array(pts, dtype=np.int64)
    decode_key = np.array(key, dtype=bool)
    order = np.sort(decode_pts)
    keyframes = np.searchsorted(order, np.sort(decode_pts[decode_key]))
    return FrameTable(order, keyframes.astype(np.int64), time_base, decode_pts, decode_key)


def check_frame(frame: av.VideoFrame, name: str) -> None:
    """Refuse a decoded frame larger than the pixel limit: a stream may change its size
    after the header the probe checked (a damaged or hostile sequence header)."""
    if frame.width * frame.height > DEFAULT_MAX_IMAGE_PIXELS:
        raise MediaTooLargeError(
            name,
            f"a frame decodes to {frame.width}×{frame.height} pixels, above the limit of "
            f"{DEFAULT_MAX_IMAGE_PIXELS:,}",
        )


def packets_needed(
    decode_pts: np.ndarray, decode_key: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """``(P,)`` bool over packets in decode order: the ones to decode to obtain ``targets``.

    A GOP (a keyframe and the packets up to the next one) is decoded from its keyframe up to
    its last target packet, and not at all without a target. A target shown before its GOP's
    keyframe (a leading frame of an open GOP) may reference the previous GOP, which is then
    decoded whole. Everything references only earlier packets, so this is sufficient.
    """
    gop = np.maximum(np.cumsum(decode_key) - 1, 0)  # packets before the first keyframe: GOP 0
    starts = np.flatnonzero(decode_key)
    starts = starts if len(starts) and starts[0] == 0 else np.concatenate([[0], starts])
    last = np.full(len(starts), -1, dtype=np.int64)  # last needed packet per GOP
    for j in np.flatnonzero(np.isin(decode_pts, targets)):
        g = gop[j]
        last[g] = max(last[g], j)
        if g > 0 and decode_pts[j] < decode_pts[starts[g]]:
            last[g - 1] = starts[g] - 1
    return np.arange(len(decode_pts)) <= last[gop]


# Reading through fewer unneeded packets than this is cheaper than seeking past them (a seek
# flushes the decoder and its frame threads).
SEEK_GAP = 600


def _rotate(rgb: np.ndarray, ccw: int) -> np.ndarray:
    """``(H, W, 3)`` frame turned ``ccw`` degrees counter-clockwise (the display matrix)."""
    return np.ascontiguousarray(np.rot90(rgb, k=ccw // 90)) if ccw else rgb


FrameTransform = Callable[[np.ndarray], np.ndarray]


def decode_frames(
    source: Source,
    indices: Sequence[int] | np.ndarray,
    *,
    table: FrameTable | None = None,
    transform: FrameTransform | None = None,
) -> np.ndarray:
    """The frames at ``indices`` (ascending), ``(T, H, W, 3)`` uint8 RGB, display orientation.

    Only the packets :func:`packets_needed` selects are decoded; ``transform`` maps each
    ``(H, W, 3)`` frame as soon as it is decoded (e.g. a resize), so only transformed frames
    are held. Should a stream not decode as its packets promise (a target missing), the
    targets are taken from one full sequential pass instead. Raises
    :class:`TruncatedMediaError` when the stream ends before a requested frame.
    """
    name = source_name(source)
    table = table if table is not None else frame_table(source)
    wanted = np.asarray(indices, dtype=np.int64)
    if len(wanted) == 0:
        raise EmptyMediaError(name, "no frames were sampled")
    if wanted[-1] >= len(table.pts):
        raise TruncatedMediaError(
            name, f"frame {int(wanted[-1])} requested but the stream has {len(table.pts)} frames"
        )
    targets = table.pts[wanted]
    slots = {t: k for k, t in enumerate(targets.tolist())}
    done = np.zeros(len(targets), dtype=bool)
    out: list[np.ndarray] = []  # holds the (T, h, w, 3) result once the first frame is seen

    def store(frame: av.VideoFrame) -> None:
        k = slots.get(frame.pts)
        if k is None or done[k]:
            return
        check_frame(frame, name)
        rgb = _rotate(frame.to_ndarray(format="rgb24"), frame_rotation(frame))
        rgb = transform(rgb) if transform is not None else rgb
        if not out:
            out.append(np.empty((len(targets), *rgb.shape), dtype=rgb.dtype))
        if rgb.shape != out[0].shape[1:]:
            raise CorruptMediaError(name, "the frame size changes inside the stream")
        out[0][k] = rgb
        done[k] = True

    needed = packets_needed(table.decode_pts, table.decode_key, targets)
    _decode_packets(source, table, needed, targets, store, done)
    if not done.all():
        _decode_packets(source, table, np.ones_like(needed), targets, store, done)
    if not done.all():
        raise TruncatedMediaError(name, f"stream ends before frame {int(wanted[~done][0])}")
    return out[0]


def _decode_packets(
    source: Source,
    table: FrameTable,
    needed: np.ndarray,
    targets: np.ndarray,
    store: Callable[[av.VideoFrame], None],
    done: np.ndarray,
) -> None:
    """Decode the ``needed`` packets (decode order) and ``store`` every frame that comes out,
    until ``done`` is all true.

    Short runs of unneeded packets are read past, long ones (over :data:`SEEK_GAP`) skipped
    by draining the decoder and seeking to the next needed keyframe. Non-target packets are
    decoded with ``skip_frame=NONREF``: frames nothing references are dropped unseen.
    """
    name = source_name(source)
    wanted = set(targets.tolist())
    position = {p: k for k, p in enumerate(table.decode_pts.tolist())}
    needed_at = np.flatnonzero(needed)

    def keep(frames: list[av.VideoFrame]) -> None:
        for frame in frames:
            store(frame)

    with open_container(source) as container:
        stream = video_stream(container, name)
        stream.thread_type = "AUTO"
        codec = stream.codec_context
        packets = container.demux(stream)
        sought = -1  # decode position of the last seek target: never seek to it twice
        # Each packet is read at most once per seek, and seeks only move forward: a stream
        # that makes this loop read more is not the stream its packets described.
        budget = 4 * len(table.decode_pts) + 64
        try:
            while not done.all():
                budget -= 1
                if budget < 0:
                    raise CorruptMediaError(name, "the stream does not decode as it demuxed")
                packet = next(packets, None)
                if packet is None or packet.pts is None or packet.size == 0:
                    if packet is not None:
                        keep(stream.decode(packet))  # end of stream: drains the decoder
                    break
                k = position.get(packet.pts)
                if k is None or needed[k]:
                    codec.skip_frame = "DEFAULT" if packet.pts in wanted else "NONREF"
                    keep(stream.decode(packet))
                    continue
                following = needed_at[np.searchsorted(needed_at, k) :]
                if len(following) == 0:
                    keep(stream.decode(None))
                    break
                if following[0] - k > SEEK_GAP and following[0] != sought:
                    sought = int(following[0])
                    keep(stream.decode(None))  # a seek flushes the decoder: drain it first
                    container.seek(int(table.decode_pts[sought]), stream=stream)
                    packets = container.demux(stream)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"frame cannot be decoded ({exc})") from exc


def iter_thumbnails(
    source: Source, size: tuple[int, int] = THUMBNAIL_SIZE, *, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Every frame, downscaled to ``size`` (width, height): ``(h, w, 3)`` uint8 each.

    A low-resolution pass for content analysis: the in-loop deblocking filter is skipped
    (drift is harmless at this size) and frames are scaled by the decoder's converter.
    More than ``max_frames`` frames (what the header may honestly claim) is corrupt.
    """
    name = source_name(source)
    width, height = size
    with open_container(source) as container:
        stream = video_stream(container, name)
        stream.thread_type = "AUTO"
        stream.codec_context.options = {"skip_loop_filter": "all"}
        try:
            for k, frame in enumerate(container.decode(stream)):
                if max_frames is not None and k >= max_frames:
                    raise CorruptMediaError(name, f"more than {max_frames:,} frames decode")
                check_frame(frame, name)
                yield frame.to_ndarray(width=width, height=height, format="rgb24")
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"frame cannot be decoded ({exc})") from exc


@dataclass(frozen=True)
class FrameSelection:
    """The frames a sampling policy picked, and what it cost to pick them.

    ``indices`` ascending frame numbers; ``timestamps`` ``index / fps`` seconds (the
    reference processors' convention); ``decoded`` is ``"header"`` (fps, uniform),
    ``"packets"`` (keyframes: demuxed, not decoded) or ``"low-res pass"`` (scenes).
    """

    indices: tuple[int, ...]
    timestamps: tuple[float, ...]
    total_frames: int
    video_fps: float
    decoded: str


def select_frames(source: Source, info: MediaInfo, sampling: Sampling) -> FrameSelection:
    """Apply ``sampling`` to a probed video, reading no more of the file than it needs."""
    assert info.frame_count is not None and info.fps is not None
    total, fps = info.frame_count, info.fps
    decoded = "header"
    if sampling.method in ("fps", "uniform"):
        picks = header_indices(total, fps, sampling)
    elif sampling.method == "keyframes":
        table = frame_table(source)
        total = len(table.pts)
        if len(table.keyframes) == 0:
            raise EmptyMediaError(source_name(source), "no packet is marked as a keyframe")
        picks = keyframe_indices(table.keyframes.tolist(), sampling.max_frames)
        decoded = "packets"
    else:
        # Twice the header's frame count (plus slack for an estimated one) bounds the pass.
        change = scenes.change_scores(iter_thumbnails(source, max_frames=2 * total + 64))
        total = len(change)
        if total == 0:
            raise EmptyMediaError(source_name(source), "no video frame decodes")
        cuts, strengths = scenes.detect_cuts(change, floor=sampling.scene_threshold)
        n = len(fps_indices(total, fps, sampling))
        picks = scene_indices(total, n, cuts.tolist(), strengths.tolist())
        decoded = "low-res pass"
    indices = tuple(int(i) for i in picks)
    return FrameSelection(indices, frame_timestamps(indices, fps), total, fps, decoded)
