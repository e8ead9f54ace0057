"""Decoded length of compressed audio, counted from its packets without decoding them.

A container's duration is not what the decoder hands back: raw ADTS AAC has no duration
(FFmpeg estimates one from the bitrate), MP4 AAC decodes its last packet to a whole
1024-sample frame past the edit list's end, and Matroska stores milliseconds. The packets
say it exactly: each decodes to the codec's fixed frame (AAC 1024, MP3 1152 or 576), or
for Opus the frames its first byte (TOC, RFC 6716 §3.1) announces; packets the demuxer
flags as discarded yield nothing, and ``skip_samples`` side data trims priming and padding.
"""

from __future__ import annotations

import struct
from fractions import Fraction

import av

from mmtok.errors import CorruptMediaError, UnsupportedMediaError
from mmtok.media.container import open_container
from mmtok.media.source import Source, source_name

# Opus frame sizes at 48 kHz by TOC configuration (config = toc >> 3): SILK 0–11 cycles
# 10/20/40/60 ms, hybrid 12–15 cycles 10/20 ms, CELT 16–31 cycles 2.5/5/10/20 ms.
_OPUS_FRAME = (480, 960, 1920, 2880) * 3 + (480, 960) * 2 + (120, 240, 480, 960) * 4


def opus_packet_samples(packet: bytes) -> int:
    """Samples at 48 kHz one Opus packet decodes to: frame size × frame count, from its TOC
    byte (count code 0: one frame, 1 or 2: two, 3: the low six bits of the next byte).

    Raises :class:`ValueError` for a code-3 packet without its frame-count byte.
    """
    toc = packet[0]
    code = toc & 3
    if code == 3 and len(packet) < 2:
        raise ValueError("an Opus packet of count code 3 has no frame-count byte")
    count = 1 if code == 0 else 2 if code < 3 else packet[1] & 0x3F
    return _OPUS_FRAME[toc >> 3] * count


def packet_samples(source: Source) -> tuple[int, int]:
    """``(samples per channel, Hz)`` the first audio stream decodes to, by demuxing only.

    Raises :class:`UnsupportedMediaError` without an audio stream or for a codec whose
    packets carry neither a fixed frame size nor durations, :class:`CorruptMediaError` for
    packets that cannot be read or parsed.
    """
    name = source_name(source)
    with open_container(source) as container:
        if not container.streams.audio:
            raise UnsupportedMediaError(name, "no audio stream in the container")
        stream = container.streams.audio[0]
        codec = stream.codec_context
        rate = stream.rate
        total = 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                if codec.frame_size > 0:
                    samples = codec.frame_size
                elif codec.name == "opus":
                    samples = opus_packet_samples(bytes(packet))
                elif packet.duration and packet.time_base is not None:
                    samples = round(Fraction(packet.duration) * packet.time_base * rate)
                else:
                    raise UnsupportedMediaError(
                        name, f"{codec.name} audio packets carry no length; cannot count it"
                    )
                if packet.has_sidedata("skip_samples"):
                    skip = bytes(packet.get_sidedata("skip_samples"))
                    head, tail = struct.unpack("<II", skip[:8])
                    samples -= head + tail  # the decoder's skip may span several frames
                total += samples
        except (av.error.FFmpegError, ValueError) as exc:
            raise CorruptMediaError(name, f"audio packets cannot be read ({exc})") from exc
    return max(total, 0), rate
