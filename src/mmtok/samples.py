"""Built-in sample media, generated deterministically (nothing binary ships in the package).

``write_samples(folder)`` writes a small set that exercises every path of the library: a
photo with an EXIF rotation, a wide diagram, a transparent icon, a short video with a hard
cut, a spoken-like tone and a chat request that interleaves them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def _photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(height // 48, 2), max(width // 48, 2), 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)


def _write_video(path: Path, seconds: float = 3.0, fps: int = 10) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            colour = (200, 40, 40) if i < seconds * fps / 2 else (30, 60, 210)  # cut halfway
            arr = np.full((120, 160, 3), colour, dtype=np.uint8)
            arr[:, (i * 4) % 160 : (i * 4) % 160 + 8] = 255  # a moving bar
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _write_tone(path: Path, seconds: float = 2.0, rate: int = 16000) -> None:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    sf.write(path, wave.astype(np.float32), rate)


def write_samples(folder: Path) -> list[Path]:
    """Write the sample media and ``request.json`` into ``folder``; returns the media paths."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    _photo(1024, 768, 1).save(photo, "JPEG", quality=85, exif=exif.tobytes())
    diagram = folder / "diagram.png"
    _photo(1800, 240, 2).save(diagram, "PNG")
    icon = folder / "icon.webp"
    rgba = _photo(96, 96, 3).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((96, 96)))
    rgba.save(icon, "WEBP")
    clip = folder / "clip.mp4"
    _write_video(clip)
    tone = folder / "tone.wav"
    _write_tone(tone)
    request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare the photo with the diagram."},
                    {"type": "image", "path": photo.name},
                    {"type": "image", "path": diagram.name},
                    {"type": "text", "text": "Then describe what happens in the clip."},
                    {"type": "video", "path": clip.name},
                ],
            }
        ]
    }
    (folder / "request.json").write_text(json.dumps(request, indent=2))
    return [photo, diagram, icon, clip, tone]
