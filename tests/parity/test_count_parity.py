"""Token counts and grids equal the references on hypothesis-drawn sizes (≥300 per profile).

Sizes include 1×N strips, tiny images, extreme aspect ratios and images above the pixel cap.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

from mmtok.errors import UnsupportedMediaError
from mmtok.profiles import get_profile
from tests.parity import references as ref

N = 300
side = st.one_of(
    st.integers(1, 64),  # tiny and strips
    st.integers(65, 2000),
    st.integers(2001, 12000),  # above every cap
)
sizes = st.tuples(side, side)


@pytest.mark.parametrize("name", ["qwen2-vl", "qwen2.5-vl"])
@settings(max_examples=N)
@given(hw=sizes)
def test_qwen_counts(name, hw):
    h, w = hw
    profile = get_profile(name)
    proc = ref.qwen_image_processor()
    if max(h, w) / min(h, w) > 200:
        with pytest.raises(ValueError):
            smart_resize(h, w, 28, 56 * 56, 28 * 28 * 1280)
        with pytest.raises(UnsupportedMediaError):
            profile.plan_image(h, w)
        return
    plan = profile.plan_image(h, w)
    rh, rw = smart_resize(h, w, 28, proc.size["shortest_edge"], proc.size["longest_edge"])
    assert plan.resized == (rh, rw)
    assert plan.grid == (1, rh // 14, rw // 14)
    patches = proc.get_number_of_image_patches(h, w, {})
    assert plan.tokens == patches // proc.merge_size**2


@settings(max_examples=N)
@given(hw=sizes)
def test_pixtral_counts(hw):
    h, w = hw
    encoder = ref.pixtral_image_encoder()
    cols, rows = encoder._image_to_num_tokens(Image.new("1", (w, h)))
    special = encoder.special_ids
    expected = ([special.img] * cols + [special.img_break]) * rows
    expected[-1] = special.img_end
    plan = get_profile("pixtral").plan_image(h, w)
    assert plan.tokens == len(expected)
    assert plan.token_grid == (rows, cols)
    assert plan.resized == (rows * 16, cols * 16)


@settings(max_examples=N)
@given(hw=sizes)
def test_llava_counts(hw):
    h, w = hw
    if max(h, w) / min(h, w) > 200:  # refused (tests/test_limits.py): see docs/reliability.md
        with pytest.raises(UnsupportedMediaError):
            get_profile("llava-1.5").plan_image(h, w)
        return
    expected = ref.llava_processor()._get_num_multimodal_tokens(image_sizes=[(h, w)])
    assert get_profile("llava-1.5").plan_image(h, w).tokens == expected.num_image_tokens[0]


@settings(max_examples=N)
@given(hw=sizes)
def test_llava_next_counts(hw):
    h, w = hw
    expected = ref.llava_next_processor()._get_num_multimodal_tokens(image_sizes=[(h, w)])
    assert get_profile("llava-next").plan_image(h, w).tokens == expected.num_image_tokens[0]


@settings(max_examples=N)
@given(hw=sizes)
def test_generic_counts_follow_its_documented_rule(hw):
    """No external reference: the rule is smart resize with factor 16, 32²…512² pixels,
    one token per patch plus two fences (checked here through transformers' smart_resize)."""
    h, w = hw
    profile = get_profile("generic")
    if max(h, w) / min(h, w) > 200:
        return
    rh, rw = smart_resize(h, w, 16, 32 * 32, 512 * 512)
    assert profile.plan_image(h, w).tokens == (rh // 16) * (rw // 16) + 2
