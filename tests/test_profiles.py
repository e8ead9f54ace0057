"""Profiles: built-in values, options, and building from a local Hugging Face folder."""

from __future__ import annotations

import json

import pytest

from mmtok.errors import ConfigError, UnsupportedMediaError
from mmtok.profiles import PROFILES, AnyRes, FixedSize, SmartResize, get_profile


def test_all_six_families_are_built_in():
    assert set(PROFILES) == {
        "qwen2-vl",
        "qwen2.5-vl",
        "pixtral",
        "llava-1.5",
        "llava-next",
        "generic",
    }


def test_qwen_plan_for_a_1000x700_image():
    plan = get_profile("qwen2-vl").plan_image(700, 1000)
    # 700×1008 px → 50×72 patches of 14 → 25×36 merged tokens = 900, fenced by 2 tokens.
    assert plan.resized == (700, 1008)
    assert plan.grid == (1, 50, 72)
    assert plan.tokens == 900
    assert plan.fence_tokens == 2


def test_pixtral_plan_counts_breaks_and_end():
    plan = get_profile("pixtral").plan_image(700, 1000)
    # 44 rows × 63 [IMG] + 43 [IMG_BREAK] + 1 [IMG_END] = 2,816 (the figures).
    assert plan.tokens == 44 * 63 + 43 + 1


def test_llava_is_576_whatever_the_size():
    profile = get_profile("llava-1.5")
    assert {profile.plan_image(h, w).tokens for h, w in [(1, 1), (700, 1000), (4000, 30)]} == {576}


def test_generic_counts_its_fences():
    plan = get_profile("generic").plan_image(64, 64)
    # 64×64 px → 4×4 patches of 16 → 16 tokens + [IMG_START] + [IMG_END].
    assert plan.tokens == 18 and plan.fence_tokens == 0


def test_aspect_ratio_beyond_the_limit_is_refused_with_the_source_named():
    with pytest.raises(UnsupportedMediaError, match=r"strip\.png.*aspect ratio 201"):
        get_profile("qwen2-vl").plan_image(1, 201, source="strip.png")


def test_with_options_overrides_policy_fields():
    small = get_profile("qwen2-vl").with_options(max_pixels=28 * 28 * 4)
    assert small.plan_image(1000, 1000).tokens == 4
    assert get_profile("qwen2-vl").plan_image(1000, 1000).tokens > 4


def test_unknown_profile_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        get_profile("nope")


def _write(folder, name, data):
    (folder / name).write_text(json.dumps(data))


def test_profile_from_a_qwen_folder_takes_its_pixel_limits(tmp_path):
    _write(
        tmp_path,
        "config.json",
        {
            "model_type": "qwen2_5_vl",
            "vision_config": {"tokens_per_second": 2, "spatial_merge_size": 2},
        },
    )
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "Qwen2VLImageProcessor",
            "min_pixels": 3136,
            "max_pixels": 12845056,
            "patch_size": 14,
            "merge_size": 2,
            "temporal_patch_size": 2,
        },
    )
    profile = get_profile(tmp_path)
    assert isinstance(profile.resize, SmartResize)
    assert profile.resize.max_pixels == 12845056
    assert profile.tokens_per_second == 2
    # Under the folder's 12.8 M pixel cap 2000×3000 is only rounded: 2000/28 = 71.4 → 71,
    # 3000/28 = 107.1 → 107 merged tokens per side (the built-in cap would shrink it).
    assert profile.plan_image(2000, 3000).tokens == 71 * 107


def test_profile_from_a_llava_next_folder(tmp_path):
    _write(
        tmp_path,
        "config.json",
        {
            "model_type": "llava_next",
            "image_grid_pinpoints": [[336, 672], [672, 336]],
            "vision_feature_select_strategy": "full",
        },
    )
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "LlavaNextImageProcessor",
            "size": {"shortest_edge": 336},
            "crop_size": {"height": 336, "width": 336},
        },
    )
    profile = get_profile(tmp_path)
    assert isinstance(profile.resize, AnyRes)
    assert profile.resize.pinpoints == ((336, 672), (672, 336))
    assert profile.drop_cls is False


def test_profile_from_a_llava_folder_with_padding(tmp_path):
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "CLIPImageProcessor",
            "size": {"shortest_edge": 224},
            "crop_size": {"height": 224, "width": 224},
            "do_pad": True,
        },
    )
    profile = get_profile(tmp_path)
    assert profile.resize == FixedSize(shortest_edge=224, crop=224, pad_to_square=True)
    assert profile.plan_image(500, 500).tokens == 16 * 16  # 224/14 = 16 per side


def test_folder_without_configs_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"no config\.json"):
        get_profile(tmp_path)


def test_unknown_family_folder_is_refused(tmp_path):
    _write(tmp_path, "config.json", {"model_type": "bert"})
    with pytest.raises(ConfigError, match="cannot tell the model family"):
        get_profile(tmp_path)


def test_malformed_json_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        get_profile(tmp_path)
