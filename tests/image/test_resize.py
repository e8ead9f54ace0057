"""Resize rules on hand-derived values, plus invariants drawn by hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmtok.image import resize as rz


def test_smart_resize_rounds_each_side_to_the_factor():
    # 700/28 = 25 → 700; 1000/28 = 35.7 → 36·28 = 1008; 700·1008 = 705,600 ≤ 1,003,520.
    assert rz.smart_resize(700, 1000, factor=28, min_pixels=3136, max_pixels=1003520) == (700, 1008)


def test_smart_resize_scales_down_above_max_pixels():
    # 2000×3000 = 6e6 px > 1,003,520: beta = sqrt(6e6 / 1003520) = 2.4452;
    # 2000/2.4452/28 = 29.21 → 29·28 = 812; 3000/2.4452/28 = 43.82 → 43·28 = 1204.
    assert rz.smart_resize(2000, 3000, factor=28, min_pixels=3136, max_pixels=1003520) == (
        812,
        1204,
    )


def test_smart_resize_scales_up_below_min_pixels():
    # 10×10: rounds to 0×0 < 3136: beta = sqrt(3136/100) = 5.6 → ceil(56/28)·28 = 56.
    assert rz.smart_resize(10, 10, factor=28, min_pixels=3136, max_pixels=1003520) == (56, 56)


def test_max_side_resize_matches_the_pixtral_example():
    # The figure: 1000×700 (w×h) → 63 × 44 tokens of 16 px → 1008×704.
    assert rz.max_side_resize(700, 1000, max_image_size=1024, factor=16) == (704, 1008)


def test_max_side_resize_shrinks_the_longer_side_first():
    # 4000×1000 (h×w): ratio 3.906 → 1024×256 → exact multiples of 16.
    assert rz.max_side_resize(4000, 1000, max_image_size=1024, factor=16) == (1024, 256)
    # A 1×5000 strip keeps at least one pixel (→ one 16 px token) on its short side.
    assert rz.max_side_resize(1, 5000, max_image_size=1024, factor=16) == (16, 1024)


def test_shortest_edge_size_truncates_the_long_side():
    # 700×1000: short side 700 → 336; long side int(336·1000/700) = int(480.0) = 480.
    assert rz.shortest_edge_size(700, 1000, 336) == (336, 480)
    # 1001×700: int(336·1001/700) = int(480.48) = 480 for the height.
    assert rz.shortest_edge_size(1001, 700, 336) == (480, 336)


def test_best_resolution_and_unpadded_grid_for_a_landscape_image():
    pins = ((336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008))
    # Effective pixels for 700×1000: 161,280 / 78,960 / 315,840 / 78,960 / 161,280.
    assert rz.select_best_resolution(700, 1000, pins) == (672, 672)
    # 48×48 feature grid; 700·48/1000 = 33.6 → 33; padding (48-33)//2 = 7 → 48 - 14 = 34 rows.
    assert rz.anyres_feature_grid(700, 1000, 24, (672, 672), 336) == (34, 48)


def test_fit_within_touches_one_side():
    # 700×1000 onto 672×672: scale_w 0.672 < scale_h 0.96 → width 672, height ceil(470.4) = 471.
    assert rz.fit_within(700, 1000, 672, 672) == (471, 672)


sizes = st.integers(min_value=1, max_value=20000)


@given(h=sizes, w=sizes)
def test_smart_resize_invariants(h, w):
    if max(h, w) / min(h, w) > 200:
        return
    rh, rw = rz.smart_resize(h, w, factor=28, min_pixels=3136, max_pixels=1003520)
    assert rh % 28 == 0 and rw % 28 == 0
    assert rh >= 28 and rw >= 28
    assert rh * rw <= 1003520 or (rh == 28 or rw == 28)


@given(h=sizes, w=sizes)
def test_max_side_resize_invariants(h, w):
    rh, rw = rz.max_side_resize(h, w, max_image_size=1024, factor=16)
    assert rh % 16 == 0 and rw % 16 == 0
    assert max(rh, rw) <= 1024 + 15
    # Never upscales beyond the next multiple of the token size.
    assert rh < max(h, 1) + 16 and rw < max(w, 1) + 16
