"""Header-only counts equal decode-then-count; bad files become rows with errors."""

from __future__ import annotations

import pytest

from mmtok.count import CountOptions, count_file
from mmtok.image.decode import decode_image
from mmtok.profiles import PROFILES, get_profile
from tests.images import encode, png_claiming, random_image

CASES = [("JPEG", o) for o in range(1, 9)] + [
    ("PNG", None),
    ("WEBP", None),
    ("GIF", None),
    ("BMP", None),
]


@pytest.mark.parametrize(("fmt", "orientation"), CASES)
@pytest.mark.parametrize("name", sorted(n for n, p in PROFILES.items() if "image" in p.modalities))
def test_header_count_equals_decode_then_count(fmt, orientation, name, tmp_path):
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(encode(random_image(523, 211, seed=3), fmt, orientation=orientation))
    profile = get_profile(name)
    row = count_file(path, profile)
    decoded = decode_image(path)
    plan = profile.plan_image(decoded.height, decoded.width)
    assert row.error is None
    assert (row.width, row.height) == decoded.size
    assert row.tokens == plan.tokens
    assert row.grid == list(plan.grid)
    assert row.resized == list(plan.resized)


def test_bad_files_become_rows(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(random_image(28, 28), "PNG"))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(60000, 60000))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    rows = [count_file(p, get_profile("qwen2-vl")) for p in (good, bomb, empty)]
    # 28×28 is below 56² pixels: scaled up to 56×56 → 4×4 patches of 14 → 2×2 merged tokens.
    assert rows[0].tokens == 4 and rows[0].error is None
    assert rows[1].tokens is None and "bomb.png" in rows[1].error
    assert rows[2].tokens is None and "empty" in rows[2].error


def test_pixel_limit_from_options_is_reported(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(encode(random_image(30, 30), "PNG"))
    row = count_file(path, get_profile("qwen2-vl"), CountOptions(max_pixels=100))
    assert row.error is not None and "above the limit of 100" in row.error


def test_codec_and_vq_rows_never_raise_for_a_file(monkeypatch, tmp_path):
    """A bug on one file (any exception, not only a typed one) becomes that file's error row
    in every kind of count, as in ``count_file``."""
    import mmtok.count as count_module
    from mmtok.count import count_codec_file, count_vq_file

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(count_module, "probe", broken)
    path = tmp_path / "a.wav"
    for row in (count_codec_file(path, None), count_vq_file(path, None)):  # type: ignore[arg-type]
        assert row.tokens is None and "internal error (ZeroDivisionError: boom)" in row.error
