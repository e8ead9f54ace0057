"""Header probing: formats, EXIF orientation, and every kind of bad input."""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from mmtok.count import count_file
from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    TruncatedMediaError,
    UnsupportedMediaError,
)
from mmtok.image.decode import decode_image
from mmtok.probe import probe
from mmtok.profiles import get_profile
from tests.images import encode, png_claiming, random_image

FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_probe_reads_format_and_size(fmt, tmp_path):
    path = tmp_path / f"img.{fmt.lower()}"
    path.write_bytes(encode(random_image(37, 23), fmt))
    info = probe(path)
    assert (info.kind, info.format, info.width, info.height) == ("image", fmt.lower(), 37, 23)
    assert info.source == str(path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_swaps_sides_in_probe_and_decode_alike(orientation):
    data = encode(random_image(40, 30), "JPEG", orientation=orientation)
    info = probe(data)
    decoded = decode_image(data)
    # Orientations 5–8 rotate by a quarter turn: displayed 30 wide, 40 tall.
    expected = (30, 40) if orientation >= 5 else (40, 30)
    assert (info.width, info.height) == expected
    assert decoded.size == expected
    assert info.orientation == orientation


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match=r"empty\.jpg: file is empty"):
        probe(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(MediaError, match=r"nothere\.png: file not found"):
        probe(tmp_path / "nothere.png")


def test_random_bytes_are_refused():
    junk = bytes(range(7, 250)) * 20
    with pytest.raises(UnsupportedMediaError, match="not a recognised image, video or audio"):
        probe(junk)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP"])
def test_truncated_files_are_caught_from_the_header(fmt):
    data = encode(random_image(64, 48), fmt)
    with pytest.raises(TruncatedMediaError, match="truncated"):
        probe(data[: len(data) * 2 // 3])


def test_truncated_jpeg_inside_its_header():
    data = encode(random_image(64, 48), "JPEG")
    with pytest.raises((TruncatedMediaError, CorruptMediaError)):
        probe(data[:40])


def test_corrupt_png_header():
    data = bytearray(encode(random_image(16, 16), "PNG"))
    data[12:16] = b"XXXX"  # the IHDR chunk type
    with pytest.raises(CorruptMediaError, match="png"):
        probe(bytes(data))


def test_unsupported_format_is_named():
    with pytest.raises(UnsupportedMediaError, match="PDF document"):
        probe(b"%PDF-1.7\n" + b"0" * 100)


def test_bomb_header_is_refused_fast_without_allocating_pixels():
    bomb = png_claiming(60000, 60000)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(MediaTooLargeError, match="refused before decoding"):
        decode_image(bomb)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 2**20  # 60000² RGB would need 10 GB


def test_configurable_pixel_limit_names_the_size():
    data = encode(random_image(200, 100), "PNG")
    with pytest.raises(
        MediaTooLargeError, match=r"200×100 = 20,000 pixels, above the limit of 10,000"
    ):
        probe(data, max_pixels=10_000)
    assert probe(data, max_pixels=None).width == 200


def test_decode_composites_transparency_on_white():
    img = random_image(8, 8, mode="RGBA")
    img.putalpha(0)
    decoded = decode_image(encode(img, "PNG"))
    assert decoded.mode == "RGB"
    assert set(decoded.getdata()) == {(255, 255, 255)}


def test_decode_truncated_png_pixels_is_a_typed_error():
    data = encode(random_image(300, 300), "PNG")
    # Keep the IEND trailer so the header check passes but pixel data is cut.
    cut = data[:200] + data[-12:]
    with pytest.raises((TruncatedMediaError, CorruptMediaError)):
        decode_image(cut)


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_png_exif_orientation_is_read_without_decoding(orientation, monkeypatch):
    from PIL import ImageFile

    data = encode(random_image(40, 30), "PNG", orientation=orientation)
    assert decode_image(data).size == ((30, 40) if orientation >= 5 else (40, 30))

    def no_load(self):
        raise AssertionError("probe decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    info = probe(data)
    assert (info.width, info.height) == ((30, 40) if orientation >= 5 else (40, 30))


def test_header_only_png_is_probed():
    info = probe(png_claiming(3000, 2000))
    assert (info.width, info.height) == (3000, 2000)


def test_text_starting_like_a_bitmap_is_not_a_struct_error(tmp_path):
    for text in (b"BM", b"BMW", b"BMW 320i", b"RIFF\x10\x00WEBP"):
        path = tmp_path / "car.bin"
        path.write_bytes(text)
        with pytest.raises(MediaError, match=r"car\.bin: "):
            probe(path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: os.mkfifo(d / "pipe.png") or d / "pipe.png", "is a FIFO"),
        (lambda d: (d / "dir.png").mkdir() or d / "dir.png", "is a directory"),
        (lambda d: Path("/dev/null"), "is a character device"),
        (lambda d: Path("/proc/self/status"), "file is empty"),
    ],
)
def test_special_files_are_refused_without_opening(make, problem, tmp_path):
    path = make(tmp_path)
    start = time.perf_counter()
    with pytest.raises(MediaError, match=f"^{re.escape(str(path))}: {problem}"):
        probe(path)
    assert time.perf_counter() - start < 1.0  # a FIFO with no writer never blocks
    row = count_file(path, get_profile("qwen2-vl"))
    assert row.error is not None and row.error.startswith(f"{path}: {problem}")


def test_stdin_is_refused(tmp_path):
    # /dev/stdin is a pipe, a terminal or /dev/null here: never a regular file.
    with pytest.raises(MediaError, match=r"^/dev/stdin: (is a|file is empty)"):
        probe("/dev/stdin")


def test_nul_in_a_path_is_a_typed_error():
    with pytest.raises(MediaError, match="cannot be read"):
        probe("a\0b.png")


def test_count_file_turns_a_bug_into_its_row(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    path.write_bytes(encode(random_image(8, 8), "PNG"))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("mmtok.count.probe", broken)
    row = count_file(path, get_profile("qwen2-vl"))
    assert row.tokens is None
    assert row.error == f"{path}: internal error (ZeroDivisionError: division by zero)"
