"""Claim: counting video and audio tokens from headers is far cheaper than decoding.

- video: ``count_video`` (header probe, which decodes the first frame for its rotation,
  plus the 2 fps plan) vs ``load_video`` (decode the sampled frames and build the Qwen2-VL
  tensors) on a 20 s 30 fps 1280×720 H.264 video;
- audio: ``count_audio`` (probe + packets + plan) vs ``load_audio`` + ``log_mel_windows``
  (decode, mono, resample to 16 kHz, 128-bin log-mel) on 2 minutes of 44.1 kHz stereo, as
  FLAC (soundfile) and MP3 (PyAV).

Medians of ``--runs``, interleaved. Run: ``.venv/bin/python -m bench.av_header_count [--runs 5]``.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.media_factory import speechlike, write_compressed_audio, write_sound

from bench.video_sampling import make_video, median_times
from mmtok.audio.load import load_audio
from mmtok.audio.mel import log_mel_windows
from mmtok.audio.plan import QWEN2_AUDIO
from mmtok.audio.plan import count_audio as count_file_audio
from mmtok.profiles import get_profile
from mmtok.video.pixels import load_video
from mmtok.video.plan import count_video
from mmtok.video.sampling import sampling_for


def count_audio(path: Path) -> int:
    return count_file_audio(path)[1].tokens


def decode_audio(path: Path) -> int:
    return len(log_mel_windows(load_audio(path), QWEN2_AUDIO.mel))


def report(title: str, med: dict[str, tuple[float, float]], header: str, decode: str) -> None:
    print(f"\n{title}")
    for name, (wall, cpu) in med.items():
        print(f"  {name:34s} {wall * 1e3:9.1f} ms wall {cpu * 1e3:9.1f} ms CPU")
    ratio_wall = med[decode][0] / med[header][0]
    ratio_cpu = med[decode][1] / med[header][1]
    print(f"  decode / header: {ratio_wall:.0f}× wall, {ratio_cpu:.0f}× CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mmtok-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    video = work / "720p30_20s_gop30.mp4"
    if not video.exists():
        make_video(video, 30, seconds=20)
    qwen = get_profile("qwen2-vl")
    sampling = sampling_for(qwen, "fps")
    tokens = count_video(video, qwen, sampling)[2].tokens
    assert load_video(video, qwen, sampling).pixel_values.shape[0] == tokens * 4
    cases: dict[str, Callable[[], object]] = {
        "count_video (header)": lambda: count_video(video, qwen, sampling),
        "load_video (decode + tensors)": lambda: load_video(video, qwen, sampling),
    }
    report(
        f"video: 20 s 1280×720, {tokens} tokens (qwen2-vl, 2 fps)",
        median_times(cases, args.runs),
        "count_video (header)",
        "load_video (decode + tensors)",
    )

    rate = 44_100
    stereo = speechlike(120.0, rate)[:, None].repeat(2, axis=1)
    for path in (
        write_sound(work / "speech.flac", stereo, rate),
        write_compressed_audio(work / "speech.mp3", stereo, rate, "libmp3lame"),
    ):
        cases = {
            "probe + plan (header)": lambda p=path: count_audio(p),
            "load + log-mel (decode)": lambda p=path: decode_audio(p),
        }
        report(
            f"audio: 120 s 44.1 kHz stereo {path.suffix[1:]}, {count_audio(path)} tokens",
            median_times(cases, args.runs),
            "probe + plan (header)",
            "load + log-mel (decode)",
        )


if __name__ == "__main__":
    main()
