"""Small videos and sounds written on the fly for the video/audio tests.

Every frame of an *indexed* video carries its own frame number as 8 black/white bars
(bit 7 on the left), wide enough to survive H.264 compression, so a test can read back
which frame a decoder returned. Scenes are flat colours with a texture, so a hard cut
changes nearly every pixel while frames inside a scene barely change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

Frame = Callable[[int], np.ndarray]


def write_video(
    path: Path,
    frame: Frame,
    num_frames: int,
    *,
    width: int = 64,
    height: int = 48,
    fps: int = 30,
    codec: str = "libx264",
    gop: int = 12,
    bframes: int = 2,
    rotation: int | None = None,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode ``frame(i)`` (``(height, width, 3)`` uint8) for ``i < num_frames``.

    ``rotation`` stores a display matrix (counter-clockwise degrees, PyAV's convention);
    ``pts`` with ``time_base`` gives explicit (variable) timestamps; ``options`` go to the
    encoder, ``container_options`` to the muxer (e.g. ``movflags``).
    """
    container = av.open(str(path), "w", options=container_options or {})
    stream = container.add_stream(codec, rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    stream.gop_size = gop
    opts = {"bf": str(bframes), "sc_threshold": "0", "preset": "veryfast", "crf": "18"}
    if codec != "libx264":
        opts = {}
    stream.options = {**opts, **(options or {})}
    if time_base is not None:
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
    if rotation is not None:
        stream.set_display_rotation(rotation)
    for i in range(num_frames):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame(i)), format="rgb24")
        if pts is not None:
            vf.pts = pts[i]
            vf.time_base = time_base
        for packet in stream.encode(vf):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def index_frame(width: int, height: int) -> Frame:
    """Frames whose 8 vertical bars spell the frame number in binary (mod 256)."""

    def make(i: int) -> np.ndarray:
        bits = np.array([(i % 256) >> (7 - b) & 1 for b in range(8)], dtype=np.uint8) * 255
        row = np.repeat(bits, -(-width // 8))[:width]
        return np.broadcast_to(row[None, :, None], (height, width, 3)).copy()

    return make


def read_index(rgb: np.ndarray) -> int:
    """The frame number an :func:`index_frame` frame shows (sampled at each bar's centre)."""
    h, w = rgb.shape[:2]
    bar = w / 8
    value = 0
    for b in range(8):
        x = int((b + 0.5) * bar)
        value = value << 1 | int(rgb[h // 2, x].mean() > 127)
    return value


def scene_frame(width: int, height: int, cuts: Sequence[int], seed: int = 0) -> Frame:
    """A new random flat colour plus texture after each cut frame, a slow drift within."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (len(cuts) + 1, 3))
    # Consecutive scenes must differ clearly: push each colour away from the previous one.
    for k in range(1, len(colours)):
        colours[k] = (colours[k - 1] + 128 + rng.integers(-30, 30, 3)) % 256
    texture = rng.integers(-20, 20, (height, width, 1))

    def make(i: int) -> np.ndarray:
        scene = int(np.searchsorted(np.asarray(cuts), i, side="right"))
        img = colours[scene][None, None, :] + texture + (i % 7)
        return np.clip(img, 0, 255).astype(np.uint8)

    return make


def gradient_frame(width: int, height: int) -> Frame:
    """Smooth moving gradients: content that resizes interestingly (no flat areas)."""
    yy, xx = np.mgrid[0:height, 0:width]

    def make(i: int) -> np.ndarray:
        r = (xx * 255 // max(width - 1, 1) + 3 * i) % 256
        g = (yy * 255 // max(height - 1, 1) + 5 * i) % 256
        b = ((xx + yy) * 4 + 7 * i) % 256
        return np.stack([r, g, b], axis=-1).astype(np.uint8)

    return make


def tone(seconds: float, rate: int = 16_000, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """``(S, C)`` float32 sine at ``freq`` Hz (amplitude 0.5), channel ``c`` phase-shifted."""
    t = np.arange(round(seconds * rate)) / rate
    cols = [0.5 * np.sin(2 * np.pi * freq * t + c) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def speechlike(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """``(S,)`` float32: harmonic bursts with pauses and a little noise (a voice stand-in)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = (np.sin(2 * np.pi * 2.3 * t) > -0.2).astype(np.float64)
    x = 0.3 * voiced * envelope + 0.01 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def write_sound(path: Path, samples: np.ndarray, rate: int, subtype: str | None = None) -> Path:
    """Write with soundfile (format from the suffix: .wav, .flac, .ogg)."""
    sf.write(str(path), samples, rate, subtype=subtype)
    return path


def write_compressed_audio(path: Path, samples: np.ndarray, rate: int, codec: str) -> Path:
    """Encode ``(S, C)`` float samples with PyAV (``libmp3lame``, ``aac``, ``libopus``)."""
    channels = samples.shape[1]
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate)
    stream.layout = "mono" if channels == 1 else "stereo"
    planar = np.ascontiguousarray(samples.T.astype(np.float32))
    step = 1024
    for start in range(0, planar.shape[1], step):
        chunk = np.ascontiguousarray(planar[:, start : start + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def write_video_with_audio(path: Path, seconds: float, audio: np.ndarray, rate: int) -> Path:
    """A 64×48 30 fps H.264 video plus an AAC track of ``audio`` ``(S, C)`` at ``rate`` Hz."""
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=30)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    sound = container.add_stream("aac", rate=rate)
    sound.layout = "mono" if audio.shape[1] == 1 else "stereo"
    make = gradient_frame(64, 48)
    for i in range(round(seconds * 30)):
        for packet in video.encode(av.VideoFrame.from_ndarray(make(i), format="rgb24")):
            container.mux(packet)
    planar = np.ascontiguousarray(audio.T.astype(np.float32))
    for start in range(0, planar.shape[1], 1024):
        chunk = np.ascontiguousarray(planar[:, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=sound.layout.name)
        frame.sample_rate, frame.pts = rate, start
        for packet in sound.encode(frame):
            container.mux(packet)
    for stream in (video, sound):
        for packet in stream.encode():
            container.mux(packet)
    container.close()
    return path


def shot_frame(
    width: int, height: int, cuts: Sequence[int], colours: Sequence[Sequence[int]], seed: int = 0
) -> Frame:
    """Shot ``s`` (between cuts) is the flat colour ``colours[s]`` plus a fixed ±6 texture
    and a little per-frame noise: pick close colours for low-contrast cuts."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(-6, 7, (height, width, 1))
    palette = np.asarray(colours, dtype=np.int64)

    def make(i: int) -> np.ndarray:
        scene = int(np.searchsorted(np.asarray(cuts), i, side="right"))
        noise = np.random.default_rng(i).integers(-1, 2, (height, width, 1))
        return np.clip(palette[scene][None, None, :] + texture + noise, 0, 255).astype(np.uint8)

    return make


def fade_frame(width: int, height: int, start: int, length: int) -> Frame:
    """A textured scene fading to black over ``length`` frames from ``start``, then a second
    scene fading in over the next ``length``: a gradual transition, no hard cut."""
    first = gradient_frame(width, height)(0).astype(np.float64)
    second = 255.0 - first

    def make(i: int) -> np.ndarray:
        if i < start + length:
            level = np.clip(1 - (i - start) / length, 0, 1)
            return (first * level).astype(np.uint8)
        level = np.clip((i - start - length) / length, 0, 1)
        return (second * level).astype(np.uint8)

    return make


def pan_frame(width: int, height: int, step: int = 6, seed: int = 0) -> Frame:
    """A wide textured panorama seen through a window moving ``step`` pixels a frame: fast
    motion, every pixel changes, no cut."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0 : width * 8]
    smooth = (np.sin(xx / 9.0) * 60 + np.cos(yy / 7.0 + xx / 23.0) * 50 + 128)[..., None]
    panorama = np.clip(smooth + rng.integers(-10, 10, (height, width * 8, 3)), 0, 255)

    def make(i: int) -> np.ndarray:
        x = (i * step) % (width * 7)
        return panorama[:, x : x + width].astype(np.uint8)

    return make


def flash_frame(base: Frame, flashes: Sequence[int]) -> Frame:
    """``base`` with the frames in ``flashes`` replaced by white (a photographer's flash)."""

    def make(i: int) -> np.ndarray:
        frame = base(i)
        return np.full_like(frame, 255) if i in flashes else frame

    return make
