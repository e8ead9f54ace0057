"""Model folders read by what they contain (``mmtok.profiles.hf``): the misreads issue 17
lists, each with the published checkpoint's configuration files written into a folder, and
the refusals — an unknown class, an unimplemented setting — naming the file and the key.

Expected numbers are derived by hand from the processors' rules (comments show the
arithmetic); ``tests/parity/test_folder_parity.py`` checks the same folders against the
processors themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmtok.errors import ConfigError
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.image.policies import ExactSize, MaxSide
from mmtok.profiles import get_profile
from mmtok.profiles.hf import FEATURE_EXTRACTORS, IMAGE_PROCESSORS, MODEL_TYPES, PROCESSORS

CLIP_NORM = {
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "rescale_factor": 0.00392156862745098,
}


def _folder(path: Path, **files: dict) -> Path:
    for name, data in files.items():
        (path / f"{name}.json").write_text(json.dumps(data))
    return path


def _pixtral_12b(path: Path) -> Path:
    """mistral-community/pixtral-12b as published: a LLaVA model type, Pixtral processors."""
    return _folder(
        path,
        config={
            "model_type": "llava",
            "vision_config": {"model_type": "pixtral", "patch_size": 16, "image_size": 1024},
            "text_config": {"model_type": "mistral", "vocab_size": 131072},
        },
        preprocessor_config={
            **CLIP_NORM,
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_rescale": True,
            "do_resize": True,
            "image_processor_type": "PixtralImageProcessor",
            "patch_size": {"height": 16, "width": 16},
            "processor_class": "PixtralProcessor",
            "resample": 3,
            "size": {"longest_edge": 1024},
        },
        processor_config={
            "image_break_token": "[IMG_BREAK]",
            "image_end_token": "[IMG_END]",
            "image_token": "[IMG]",
            "patch_size": 16,
            "processor_class": "PixtralProcessor",
        },
    )


def test_a_hf_pixtral_folder_is_read_as_transformers_pixtral_not_llava(tmp_path):
    profile = get_profile(_pixtral_12b(tmp_path))
    assert profile.layout == "rows" and isinstance(profile.resize, MaxSide)
    assert (profile.patch_size, profile.merge_size) == (16, 1)  # no spatial_merge_size: 1
    # 1×1 → one 16 px token + [IMG_END]; 12000×300 → ×1024/12000: 25.6 → 25 px high (floor),
    # 2 rows × (64 + 1); 608×400 → 25 rows × (38 + 1); a 3000×4000 portrait → 64 × (48 + 1).
    sizes = {(1, 1): 2, (300, 12000): 130, (400, 608): 975, (4000, 3000): 3136}
    assert {hw: profile.plan_image(*hw).tokens for hw in sizes} == sizes


def test_mistral_small_3_1_floors_where_mistral_common_rounds(tmp_path):
    folder = _folder(
        tmp_path,
        config={"model_type": "mistral3", "spatial_merge_size": 2},
        preprocessor_config={
            **CLIP_NORM,
            "crop_size": None,
            "data_format": "channels_first",
            "default_to_square": True,
            "device": None,
            "do_center_crop": None,
            "image_processor_type": "PixtralImageProcessorFast",
            "input_data_format": None,
            "patch_size": {"height": 14, "width": 14},
            "processor_class": "PixtralProcessor",
            "resample": 3,
            "return_tensors": None,
            "size": {"longest_edge": 1540},
        },
        processor_config={
            "image_break_token": "[IMG_BREAK]",
            "image_end_token": "[IMG_END]",
            "image_token": "[IMG]",
            "patch_size": 14,
            "processor_class": "PixtralProcessor",
            "spatial_merge_size": 2,
        },
    )
    plan = get_profile(folder).plan_image(2243, 6160)
    # 2243 / (6160 / 1540) = 560.75 → 560 = 20 × 28 px; 1540 = 55 × 28: 20 × (55 + 1).
    assert (plan.resized, plan.tokens, plan.feature_tokens) == ((560, 1540), 1120, 1100)


def test_llava_interleave_qwen_honours_siglip_height_and_width(tmp_path):
    folder = _folder(
        tmp_path,
        config={"model_type": "llava", "vision_config": {"model_type": "siglip_vision_model"}},
        preprocessor_config={
            "do_convert_rgb": None,
            "do_normalize": True,
            "do_rescale": True,
            "do_resize": True,
            "image_mean": [0.5, 0.5, 0.5],
            "image_processor_type": "SiglipImageProcessor",
            "image_std": [0.5, 0.5, 0.5],
            "processor_class": "LlavaProcessor",
            "resample": 3,
            "rescale_factor": 0.00392156862745098,
            "size": {"height": 384, "width": 384},
        },
        processor_config={
            "image_token": "<image>",
            "num_additional_image_tokens": 0,
            "patch_size": 14,
            "processor_class": "LlavaProcessor",
            "vision_feature_select_strategy": "full",
        },
    )
    profile = get_profile(folder)
    assert profile.resize == ExactSize(384, 384)
    assert profile.image_mean == (0.5, 0.5, 0.5)
    for hw in ((1, 1), (700, 1000), (5000, 20)):  # 384 // 14 = 27 per side, whatever the size
        assert profile.plan_image(*hw).tokens == 27 * 27 == 729


def _qwen2_vl_7b(path: Path) -> Path:
    """Qwen/Qwen2-VL-7B-Instruct as published: no video_preprocessor_config.json."""
    return _folder(
        path,
        config={"model_type": "qwen2_vl", "vision_config": {"spatial_merge_size": 2}},
        preprocessor_config={
            **CLIP_NORM,
            "min_pixels": 3136,
            "max_pixels": 12845056,
            "patch_size": 14,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "Qwen2VLProcessor",
        },
    )


def test_qwen2_vl_video_limits_come_from_the_preprocessor_config_without_a_video_one(tmp_path):
    profile = get_profile(_qwen2_vl_7b(tmp_path))
    # transformers' video processor falls back to preprocessor_config.json: its pixel limits.
    assert (profile.video_min_pixels, profile.video_max_pixels) == (3136, 12845056)
    from mmtok.video.plan import plan_video

    # A 1280×720 frame pair under 12.8 M pixels is only rounded: 720/28 → 26, 1280/28 → 46
    # merged tokens per side; under the built-in 602,112 pixel cap it would shrink.
    plan = plan_video(profile, 720, 1280, [0, 1], 2, 2.0)
    assert plan.tokens == 26 * 46
    assert plan_video(get_profile("qwen2-vl"), 720, 1280, [0, 1], 2, 2.0).tokens < 26 * 46


def test_a_video_preprocessor_config_wins_over_the_image_one(tmp_path):
    folder = _qwen2_vl_7b(tmp_path)
    _folder(
        folder,
        video_preprocessor_config={
            "video_processor_type": "Qwen2VLVideoProcessor",
            "size": {"shortest_edge": 4096, "longest_edge": 200704},
            "min_frames": 8,
            "max_frames": 64,
        },
    )
    profile = get_profile(folder)
    assert (profile.video_min_pixels, profile.video_max_pixels) == (4096, 200704)
    assert (profile.video_min_frames, profile.video_max_frames) == (8, 64)
    assert profile.resize.max_pixels == 12845056  # images keep the image processor's limits


def test_nested_processor_config_of_transformers_5_is_read(tmp_path):
    folder = _folder(
        tmp_path,
        processor_config={
            "processor_class": "Qwen2_5_VLProcessor",
            "image_processor": {
                "image_processor_type": "Qwen2VLImageProcessor",
                "size": {"shortest_edge": 3136, "longest_edge": 28 * 28 * 4},
            },
            # What Qwen2VLVideoProcessor.to_dict() writes (transformers 5.24), limits changed.
            "video_processor": {
                "video_processor_type": "Qwen2VLVideoProcessor",
                "size": {"shortest_edge": 3136, "longest_edge": 28 * 28 * 16},
                "do_convert_rgb": True,
                "do_resize": True,
                "resample": 3,
                "do_rescale": True,
                "rescale_factor": 0.00392156862745098,
                "do_normalize": True,
                "do_sample_frames": False,
                "return_metadata": False,
                "patch_size": 14,
                "temporal_patch_size": 2,
                "merge_size": 2,
                "min_frames": 4,
                "max_frames": 768,
                "max_video_tokens": 128000,
                **CLIP_NORM,
            },
        },
    )
    profile = get_profile(folder)
    assert profile.plan_image(1000, 1000).tokens == 4
    assert profile.video_max_pixels == 28 * 28 * 16
    assert profile.tokens_per_second == get_profile("qwen2.5-vl").tokens_per_second


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("resample", 2),  # bilinear: mmtok resizes bicubic only
        ("do_normalize", False),
        ("do_rescale", False),
        ("do_pan_and_scan", True),  # Gemma 3's crops: a flag mmtok would ignore
        ("do_image_splitting", True),
        ("data_format", "channels_last"),
    ],
)
def test_a_setting_mmtok_does_not_implement_is_refused_naming_file_and_key(tmp_path, key, value):
    folder = _pixtral_12b(tmp_path)
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    _folder(folder, preprocessor_config={**pre, key: value})
    with pytest.raises(ConfigError, match=rf"preprocessor_config\.json: {key}="):
        get_profile(folder)


def test_a_disabled_flag_set_to_its_default_is_accepted(tmp_path):
    folder = _pixtral_12b(tmp_path)
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    _folder(folder, preprocessor_config={**pre, "do_pan_and_scan": False, "resample": None})
    assert get_profile(folder).plan_image(400, 608).tokens == 975


@pytest.mark.parametrize(
    ("file", "key", "value", "needle"),
    [
        # json reads NaN / Infinity: int()/float() of them raised ValueError / OverflowError
        ("preprocessor_config", "max_pixels", "NaN", "max_pixels must be an integer"),
        ("preprocessor_config", "max_pixels", "Infinity", "max_pixels must be an integer"),
        ("preprocessor_config", "rescale_factor", '"1/255"', "rescale_factor must be a positive"),
        ("preprocessor_config", "image_std", "[0.5, 0.5, 0]", "image_std must be a positive"),
        ("preprocessor_config", "image_mean", '[0.5, 0.5, "x"]', "image_mean must be a finite"),
        ("video_preprocessor_config", "fps", '"two"', "fps must be a positive number"),
        ("config", "vision_config", "[]", "vision_config must be an object"),
        ("config", "vision_config", '{"tokens_per_second": NaN}', "tokens_per_second must be"),
        ("config", "text_config", '{"hidden_size": 8.5}', "hidden_size must be an integer"),
        ("config", "text_config", '{"hidden_size": -8}', "hidden_size must be an integer"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_config_error_naming_file_and_key(
    tmp_path, file, key, value, needle
):
    folder = _qwen2_vl_7b(tmp_path)
    path = folder / f"{file}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.pop(key, None)
    text = json.dumps(data)  # the bad value spliced in as json text (NaN is not json.dumps')
    path.write_text(f'{text[:-1]}{", " if data else ""}"{key}": {value}}}')
    with pytest.raises(ConfigError, match=rf"{file}\.json: .*{needle}"):
        get_profile(folder)


def test_an_unknown_processor_class_is_refused(tmp_path):
    folder = _folder(
        tmp_path,
        config={"model_type": "llava"},
        processor_config={"processor_class": "Blip2Processor"},
    )
    with pytest.raises(ConfigError, match=r"processor_config\.json: processor_class 'Blip2"):
        get_profile(folder)


def test_an_unknown_image_processor_class_is_refused_not_mapped_by_model_type(tmp_path):
    folder = _folder(
        tmp_path,
        config={"model_type": "llava"},
        preprocessor_config={"image_processor_type": "BlipImageProcessor"},
    )
    with pytest.raises(ConfigError, match=r"image_processor_type 'BlipImageProcessor'"):
        get_profile(folder)


def test_an_image_processor_its_processor_never_uses_is_refused(tmp_path):
    folder = _folder(
        tmp_path,
        preprocessor_config={
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "LlavaProcessor",
        },
    )
    with pytest.raises(ConfigError, match="is not used with LlavaProcessor"):
        get_profile(folder)


def test_a_clip_processor_alone_names_no_family(tmp_path):
    _folder(tmp_path, preprocessor_config={"image_processor_type": "CLIPImageProcessor"})
    with pytest.raises(ConfigError, match="cannot tell the model family"):
        get_profile(tmp_path)


def test_siglip_with_a_shortest_edge_is_refused(tmp_path):
    _folder(
        tmp_path,
        preprocessor_config={
            "image_processor_type": "SiglipImageProcessor",
            "processor_class": "LlavaProcessor",
            "size": {"shortest_edge": 384},
        },
    )
    with pytest.raises(ConfigError, match=r"preprocessor_config\.json: size must be"):
        get_profile(tmp_path)


def test_an_unknown_processor_key_is_refused(tmp_path):
    folder = _pixtral_12b(tmp_path)
    proc = json.loads((folder / "processor_config.json").read_text())
    _folder(folder, processor_config={**proc, "num_query_tokens": 32})
    with pytest.raises(ConfigError, match=r"processor_config\.json: num_query_tokens=32"):
        get_profile(folder)


def test_the_registries_are_consistent():
    for name, rule in PROCESSORS.items():
        assert rule.image_processors or rule.feature_extractors, name  # an input it reads
        assert all(cls in IMAGE_PROCESSORS for cls in rule.image_processors), name
        assert all(cls in FEATURE_EXTRACTORS for cls in rule.feature_extractors), name
        assert ("audio" in rule.profile.modalities) == bool(rule.feature_extractors), name
    for model_type, (processor, image) in MODEL_TYPES.items():
        images = PROCESSORS[processor].image_processors
        assert image in images if images else image == "", model_type
    for name, rule in IMAGE_PROCESSORS.items():
        assert rule.processor is None or name in PROCESSORS[rule.processor].image_processors


# --- the folder's tokenizer -------------------------------------------------------------------


def test_a_folders_tokenizer_json_is_used_without_tokenizer(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    folder = _pixtral_12b(tmp_path)
    model = Tokenizer(
        WordLevel({"[IMG]": 0, "[IMG_BREAK]": 1, "[IMG_END]": 2, "[UNK]": 3}, "[UNK]")
    )
    model.add_special_tokens(["[IMG]", "[IMG_BREAK]", "[IMG_END]"])
    model.save(str(folder / "tokenizer.json"))
    tok = resolve_tokenizer(get_profile(folder))
    assert tok.token_id("[IMG_BREAK]") == 1


def test_a_tokenizer_config_without_a_tokenizer_file_is_refused(tmp_path):
    folder = _pixtral_12b(tmp_path)
    _folder(folder, tokenizer_config={"tokenizer_class": "LlamaTokenizer"})
    with pytest.raises(ConfigError, match=r"tokenizer_config\.json: .*pass --tokenizer"):
        resolve_tokenizer(get_profile(folder))
