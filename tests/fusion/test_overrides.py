"""Per-item overrides: mapped onto the profile's fields, or refused — never ignored."""

from __future__ import annotations

import pytest

from mmtok.errors import RequestError
from mmtok.fusion.overrides import item_profile
from mmtok.fusion.request import VideoPart
from mmtok.profiles import get_profile


def test_video_pixel_limits_move_the_profiles_video_fields():
    own = item_profile(VideoPart(data=b"x", max_pixels=50_000), get_profile("qwen2-vl"))
    assert own.video_max_pixels == 50_000


@pytest.mark.parametrize("name", ["llava-onevision", "internvl3", "smolvlm"])
@pytest.mark.parametrize("key", ["min_pixels", "max_pixels"])
def test_video_pixel_limits_are_refused_where_frames_have_a_fixed_size(name, key):
    # These families resize every frame to ``video_size``; the limit would change nothing.
    profile = get_profile(name)
    assert profile.video_size is not None
    with pytest.raises(RequestError, match=f"clip: min_pixels/max_pixels of a video .* {name}"):
        item_profile(VideoPart(data=b"x", **{key: 50_000}), profile, "clip")
