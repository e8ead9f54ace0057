"""Vision towers: tiny random CLIP / SigLIP / Qwen2-VL saved to disk and loaded back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from mmtok.compress import TokenSet
from mmtok.compress.tower import PixelTower, load_vision_tower
from mmtok.errors import ConfigError
from tests.images import random_image

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

VISION = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2}
QWEN_VISION = {"depth": 2, "embed_dim": 16, "hidden_size": 24, "num_heads": 2, "patch_size": 4}


def tiny_clip() -> transformers.CLIPModel:
    config = transformers.CLIPConfig(
        text_config={
            **VISION,
            "num_attention_heads": 2,
            "vocab_size": 64,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={**VISION, "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    return transformers.CLIPModel(config).eval()


def tiny_qwen() -> transformers.Qwen2VLForConditionalGeneration:
    text = {
        "hidden_size": 24,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "vocab_size": 64,
        "rope_parameters": {"rope_type": "default", "mrope_section": [1, 1, 1], "rope_theta": 1e4},
    }
    config = transformers.Qwen2VLConfig(vision_config=QWEN_VISION, text_config=text)
    return transformers.Qwen2VLForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, object]:
    """Save every tiny model once; return folders plus the in-memory references."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("towers")
    clip = tiny_clip()
    clip.save_pretrained(root / "clip")
    transformers.CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(root / "clip")
    siglip = transformers.SiglipVisionModel(
        transformers.SiglipVisionConfig(
            **VISION, num_attention_heads=2, image_size=32, patch_size=8
        )
    ).eval()
    siglip.save_pretrained(root / "siglip")
    qwen = tiny_qwen()
    qwen.save_pretrained(root / "qwen")
    transformers.Qwen2VLImageProcessorPil(
        min_pixels=64, max_pixels=48 * 48, patch_size=4, merge_size=2, temporal_patch_size=2
    ).save_pretrained(root / "qwen")
    return {"root": root, "clip": clip, "siglip": siglip, "qwen": qwen}


def window_order(t: int, h: int, w: int) -> list[int]:
    """Raster index of each patch in Qwen2-VL's order: 2×2 windows listed together."""
    return [
        ti * h * w + (2 * bh + p) * w + (2 * bw + q)
        for ti in range(t)
        for bh in range(h // 2)
        for bw in range(w // 2)
        for p in range(2)
        for q in range(2)
    ]


def test_clip_full_checkpoint_gives_patch_features_without_cls(folders) -> None:
    tower = load_vision_tower(folders["root"] / "clip")
    assert tower.family.name == "clip"
    pixels = torch.randn(2, 3, 32, 32)
    reference = folders["clip"].vision_model(pixel_values=pixels, output_hidden_states=True)
    torch.testing.assert_close(tower.features(pixels), reference.last_hidden_state[:, 1:])
    torch.testing.assert_close(tower.features(pixels, layer=-2), reference.hidden_states[-2][:, 1:])
    assert tower.grid(pixels) == (1, 4, 4)


def test_siglip_vision_only_folder(folders) -> None:
    tower = load_vision_tower(folders["root"] / "siglip")
    pixels = torch.randn(1, 3, 32, 32)
    expected = folders["siglip"](pixel_values=pixels).last_hidden_state  # no [CLS] to drop
    torch.testing.assert_close(tower.features(pixels), expected)
    assert tower.processor is None
    with pytest.raises(ConfigError, match="preprocessor_config"):
        tower.encode_image(random_image(32, 32))


def test_qwen2_vl_full_checkpoint_features_in_raster_order(folders) -> None:
    tower = load_vision_tower(folders["root"] / "qwen")
    assert tower.family.name == "qwen2_vl" and tower.merge_size == 2
    t, h, w = 1, 4, 6
    patches = torch.randn(t * h * w, 3 * 2 * 4 * 4)  # (N, C·T·p·p), processor order
    grid_thw = torch.tensor([[t, h, w]])
    visual = folders["qwen"].model.visual
    reference = visual(patches, grid_thw=grid_thw)
    got = tower.features(patches, grid_thw)
    assert got.shape == (1, t * h * w, 16)
    for position, raster in enumerate(window_order(t, h, w)):
        torch.testing.assert_close(got[0, raster], reference.last_hidden_state[position])
    merged = tower.features(patches, grid_thw, merged=True)
    torch.testing.assert_close(merged[0], reference.pooler_output)  # (N/4, 24)
    assert tower.grid(patches, grid_thw) == (t, h, w)


def test_qwen2_vl_batches_equal_grids_and_refuses_mixed(folders) -> None:
    tower = load_vision_tower(folders["root"] / "qwen")
    patches = torch.randn(2 * 16, 96)
    two = tower.features(patches, torch.tensor([[1, 4, 4], [1, 4, 4]]))
    one = tower.features(patches[16:], torch.tensor([[1, 4, 4]]))
    torch.testing.assert_close(two[1], one[0])  # images do not attend to each other
    with pytest.raises(ConfigError, match="different grids"):
        tower.features(torch.randn(16 + 32, 96), torch.tensor([[1, 4, 4], [2, 4, 4]]))
    with pytest.raises(ConfigError, match="grid_thw"):
        tower.features(patches)
    with pytest.raises(ConfigError, match=r"expects \(16, 96\)"):
        tower.features(patches, torch.tensor([[1, 4, 4]]))  # 32 rows for a 16-patch grid


def test_wrong_pixel_layout_is_refused(folders) -> None:
    tower = load_vision_tower(folders["root"] / "siglip")
    with pytest.raises(ConfigError, match=r"expected \(B, 3, H, W\)"):
        tower.features(torch.randn(1, 32, 32))
    with pytest.raises(ConfigError, match="merged=True"):
        tower.features(torch.randn(1, 3, 32, 32), merged=True)


def test_encode_image_uses_the_folders_processor(folders) -> None:
    clip = load_vision_tower(folders["root"] / "clip")
    features, grid = clip.encode_image(random_image(50, 40))
    assert features.shape == (1, 16, 16) and grid == (1, 4, 4)
    qwen = load_vision_tower(folders["root"] / "qwen")
    features, grid = qwen.encode_image(random_image(48, 40))  # 40×48 → grid 10 × 12 of 4 px
    assert grid == (1, 10, 12) and features.shape == (1, 120, 16)
    TokenSet.from_grid(features, grid)  # the contract the compressors take


def test_identity_is_stable_and_tracks_weights(folders, tmp_path) -> None:
    first = load_vision_tower(folders["root"] / "clip").identity
    assert len(first) == 64 and first == load_vision_tower(folders["root"] / "clip").identity
    moved = shutil.copytree(folders["root"] / "clip", tmp_path / "elsewhere")
    assert load_vision_tower(moved).identity == first  # path is not part of the identity
    changed = tiny_clip()
    with torch.no_grad():
        changed.vision_model.post_layernorm.bias += 1
    changed.save_pretrained(tmp_path / "changed")
    assert load_vision_tower(tmp_path / "changed").identity != first
    assert load_vision_tower(folders["root"] / "siglip").identity != first


def test_missing_and_unknown_inputs_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent: no such vision tower folder"):
        load_vision_tower(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no config\.json"):
        load_vision_tower(tmp_path / "empty")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match=r"'bert'.*known: clip"):
        load_vision_tower(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "siglip_vision_model"}))
    with pytest.raises(ConfigError, match="no weight files"):
        load_vision_tower(tmp_path)


def test_weights_without_the_tower_raise_config_error(folders, tmp_path: Path) -> None:
    shutil.copy(folders["root"] / "qwen" / "config.json", tmp_path / "config.json")
    save_file({"lm_head.weight": torch.zeros(64, 24)}, tmp_path / "model.safetensors")
    with pytest.raises(ConfigError, match=r"lack .* qwen2_vl vision tensor"):
        load_vision_tower(tmp_path)


def test_pixel_tower_patches_are_raw_pixels() -> None:
    image = random_image(60, 30)  # longer side 60 ≤ 448: no scaling; 4 × 2 patches of 14
    features, grid = PixelTower(14).encode_image(image)
    assert grid == (1, 2, 4) and features.shape == (1, 8, 14 * 14 * 3)
    resized = image.resize((56, 28), resample=3)  # crop to whole patches, same as the tower
    pixel = torch.tensor(resized.getpixel((15, 2)), dtype=torch.float32) / 255
    # pixel (x=15, y=2) lies in patch (row 0, col 1) at offset (2, 1): index (2·14 + 1)·3
    torch.testing.assert_close(features[0, 1, 87:90], pixel)
    assert PixelTower(16, 64).encode_image(random_image(640, 320))[1] == (1, 2, 4)
    with pytest.raises(ConfigError, match="patch size 0"):
        PixelTower(0)
