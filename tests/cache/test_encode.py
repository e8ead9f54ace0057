"""``encode_media``: a hit skips the tower and equals a fresh computation, bit for bit.

Tiny random towers (Qwen2-VL vision, CLIP vision) are saved with ``save_pretrained`` and
loaded back through :func:`mmtok.compress.tower.load_vision_tower`, as users load real ones.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from mmtok.cache import store as store_module
from mmtok.cache.encode import (
    Projector,
    TowerOptions,
    encode_media,
    encode_request,
    item_profile,
    preprocess_cached,
    preprocess_media,
)
from mmtok.cache.store import Cache, CacheWarning
from mmtok.compress.tower import VisionTower, load_vision_tower
from mmtok.fusion.request import ImagePart, parse_request
from mmtok.fusion.tokenizer import TokenizerFallbackWarning
from mmtok.profiles import Profile, get_profile
from mmtok.video.sampling import sampling_for
from tests.images import encode, random_image
from tests.media_factory import gradient_frame, write_video

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

pytestmark = pytest.mark.filterwarnings(
    f"ignore::{TokenizerFallbackWarning.__module__}.TokenizerFallbackWarning"
)


def save_qwen_tower(folder: Path) -> Path:
    """A 2-layer Qwen2-VL vision tower (patch 4, merge 2, width 16) with its processor."""
    from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import (
        Qwen2VisionTransformerPretrainedModel,
    )

    torch.manual_seed(0)
    config = Qwen2VLVisionConfig(
        depth=2, embed_dim=16, hidden_size=24, num_heads=2, patch_size=4, temporal_patch_size=2
    )
    Qwen2VisionTransformerPretrainedModel(config).save_pretrained(folder)
    transformers.Qwen2VLImageProcessorPil(
        min_pixels=64, max_pixels=48 * 48, patch_size=4, merge_size=2, temporal_patch_size=2
    ).save_pretrained(folder)
    return folder


def save_clip_tower(folder: Path) -> Path:
    """A 2-layer CLIP vision tower on 32 px images in patches of 8, with its processor."""
    torch.manual_seed(0)
    config = transformers.CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    transformers.CLIPVisionModel(config).save_pretrained(folder)
    transformers.CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> tuple[VisionTower, Profile]:
    folder = save_qwen_tower(tmp_path_factory.mktemp("qwen"))
    return load_vision_tower(folder), get_profile(folder)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[VisionTower, Profile]:
    folder = save_clip_tower(tmp_path_factory.mktemp("clip"))
    # The folder names no patch size for the LLaVA-style profile; the tower's is 8.
    return load_vision_tower(folder), get_profile(folder).with_options(patch_size=8)


@dataclasses.dataclass
class Counting:
    """An encoder that counts its tower calls."""

    tower: VisionTower
    calls: int = 0

    @property
    def identity(self) -> str:
        return self.tower.identity

    def features(self, *args, **kwargs) -> torch.Tensor:
        self.calls += 1
        return self.tower.features(*args, **kwargs)


def image_file(path: Path, seed: int, size: tuple[int, int] = (40, 30)) -> Path:
    path.write_bytes(encode(random_image(*size, seed=seed), "PNG"))
    return path


def fresh(source, profile, tower, options=TowerOptions()) -> torch.Tensor:
    """The tower's output computed directly, without the cache."""
    inputs = preprocess_media(source, profile)
    return tower.features(inputs.pixel_values, inputs.grid_thw, options.layer, options.merged)


def test_hit_skips_the_tower_and_is_bit_identical(qwen, tmp_path: Path) -> None:
    tower, profile = qwen
    path = image_file(tmp_path / "a.png", seed=1)
    counting = Counting(tower)
    cache = Cache.at(tmp_path / "cache")
    first = encode_media(path, profile, counting, cache=cache)
    second = encode_media(path, profile, counting, cache=cache)
    assert (first.cached, second.cached, counting.calls) == (False, True, 1)
    expected = fresh(path, profile, tower)
    assert torch.equal(first.features, expected) and torch.equal(second.features, expected)
    # 40×30 px: sides to the nearest multiple of patch·merge = 8 (40, 32), in patches of 4.
    assert second.grid == first.grid == (1, 8, 10)
    copy = tmp_path / "renamed-copy.png"
    copy.write_bytes(path.read_bytes())
    other_process = Cache.at(tmp_path / "cache")  # a new memory tier: served from disk
    third = encode_media(copy, profile, counting, cache=other_process)
    assert third.cached and counting.calls == 1 and torch.equal(third.features, expected)
    assert other_process.stats().disk_hits == 1


def test_layer_and_merge_options_are_cached_apart(qwen, clip, tmp_path: Path) -> None:
    cache = Cache.at(None)
    for tower, profile in (qwen, clip):
        path = image_file(tmp_path / f"{profile.name}.png", seed=2)
        last = encode_media(path, profile, tower, cache=cache)
        hidden = encode_media(path, profile, tower, cache=cache, options=TowerOptions(layer=-2))
        assert not hidden.cached and hidden.key != last.key
        assert not torch.equal(hidden.features, last.features)
        again = encode_media(path, profile, tower, cache=cache, options=TowerOptions(layer=-2))
        assert again.cached and torch.equal(
            again.features, fresh(path, profile, tower, TowerOptions(layer=-2))
        )
    tower, profile = qwen
    merged = encode_media(path, profile, tower, cache=cache, options=TowerOptions(merged=True))
    assert merged.features.shape[-1] == 24 and not merged.cached


def test_llava_style_tower_features(clip, tmp_path: Path) -> None:
    tower, profile = clip
    path = image_file(tmp_path / "wide.png", seed=3, size=(64, 40))
    tokens = encode_media(path, profile, tower, cache=Cache.at(None))
    assert tokens.features.shape == (1, 16, 16) and tokens.grid == (1, 4, 4)
    assert torch.equal(tokens.features, fresh(path, profile, tower))


def test_flipped_byte_in_a_stored_entry_is_recomputed(qwen, tmp_path: Path) -> None:
    tower, profile = qwen
    path = image_file(tmp_path / "a.png", seed=4)
    first = encode_media(path, profile, tower, cache=Cache.at(tmp_path / "c"))
    entry = tmp_path / "c" / "entries" / f"{first.key}.safetensors"
    blob = bytearray(entry.read_bytes())
    blob[-7] ^= 0x01  # one bit of the last feature value
    entry.write_bytes(bytes(blob))
    counting = Counting(tower)
    with pytest.warns(CacheWarning, match="corrupt entry"):
        again = encode_media(path, profile, counting, cache=Cache.at(tmp_path / "c"))
    assert not again.cached and counting.calls == 1
    assert torch.equal(again.features, first.features)
    third = encode_media(path, profile, counting, cache=Cache.at(tmp_path / "c"))
    assert third.cached and torch.equal(third.features, first.features)  # rewritten, valid


def test_request_served_partly_from_cache_equals_scratch(qwen, tmp_path: Path) -> None:
    tower, profile = qwen
    a = image_file(tmp_path / "a.png", seed=5, size=(48, 32))
    b = image_file(tmp_path / "b.png", seed=6, size=(36, 44))
    (tmp_path / "a-again.png").write_bytes(a.read_bytes())
    request = parse_request(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "path": "a.png"},
                        {"type": "text", "text": "and"},
                        {"type": "image", "path": "b.png"},
                        {"type": "image", "path": "a-again.png"},
                        {"type": "image", "path": "b.png", "max_pixels": 400},
                    ],
                }
            ]
        },
        base=tmp_path,
    )
    cache = Cache.at(tmp_path / "cache")
    encode_media(b, profile, tower, cache=cache)  # b alone was seen before
    counting = Counting(tower)
    served = encode_request(request, profile, counting, cache=cache)
    scratch = encode_request(request, profile, tower)
    assert [it.tokens.cached for it in served] == [False, True, True, False]
    assert counting.calls == 2  # a, and b under its own max_pixels
    for got, want in zip(served, scratch, strict=True):
        assert torch.equal(got.tokens.features, want.tokens.features)
        assert (got.span, got.kind, got.index) == (want.span, want.kind, want.index)
    assert served[3].tokens.grid != served[1].tokens.grid  # the override shrank it
    shrunk = item_profile(request.media_parts()[3], profile)
    assert torch.equal(served[3].tokens.features, fresh(b, shrunk, tower))
    # The span holds the image's tokens: merged patches plus the two fences.
    t, h, w = served[0].tokens.grid
    assert served[0].span.end - served[0].span.start == t * h * w // 4 + 2


def test_video_items_are_keyed_on_their_sampling(qwen, tmp_path: Path) -> None:
    tower, image_profile = qwen
    profile = image_profile.with_options(video_min_pixels=64, video_max_pixels=32 * 32)
    path = write_video(tmp_path / "v.mp4", gradient_frame(64, 48), 12, fps=4)
    cache = Cache.at(None)
    first = encode_media(path, profile, tower, kind="video", cache=cache)
    again = encode_media(path, profile, tower, kind="video", cache=cache)
    assert again.cached and torch.equal(first.features, again.features)
    inputs = preprocess_media(path, profile, "video")
    assert torch.equal(first.features, tower.features(inputs.pixel_values, inputs.grid_thw))
    assert first.grid[0] == 3  # 3 s at 2 fps: 6 frames, 3 temporal patches of 2
    slower = dataclasses.replace(sampling_for(profile), fps=1.0)
    other = encode_media(path, profile, tower, kind="video", cache=cache, sampling=slower)
    assert not other.cached and other.key != first.key


def test_preprocessed_pixels_can_be_cached_alone(qwen, tmp_path: Path) -> None:
    tower, profile = qwen
    path = image_file(tmp_path / "a.png", seed=7)
    cache = Cache.at(tmp_path / "cache")
    first = preprocess_cached(path, profile, cache)
    second = preprocess_cached(path, profile, Cache.at(tmp_path / "cache"))
    direct = preprocess_media(path, profile)
    for got in (first, second):
        assert torch.equal(got.pixel_values, direct.pixel_values)
        assert torch.equal(got.grid_thw, direct.grid_thw) and got.grid == direct.grid
    assert cache.stats().misses == 1
    tokens = encode_media(path, profile, tower, cache=cache)
    assert not tokens.cached  # pixels and features never share a key


def test_projector_output_and_identity(qwen, tmp_path: Path) -> None:
    tower, profile = qwen
    path = image_file(tmp_path / "a.png", seed=8)
    torch.manual_seed(1)
    linear = nn.Linear(16, 8)
    projector = Projector.of(linear)
    cache = Cache.at(None)
    out = encode_media(path, profile, tower, cache=cache, projector=projector)
    with torch.no_grad():
        assert torch.equal(out.features, linear(fresh(path, profile, tower)))
    assert encode_media(path, profile, tower, cache=cache, projector=projector).cached
    with torch.no_grad():
        linear.bias += 1
    changed = encode_media(path, profile, tower, cache=cache, projector=Projector.of(linear))
    assert not changed.cached and changed.key != out.key


def test_full_disk_never_fails_an_encode(qwen, tmp_path, monkeypatch) -> None:
    tower, profile = qwen
    path = image_file(tmp_path / "a.png", seed=9)

    def no_space(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_module, "_write_all", no_space)
    cache = Cache.at(tmp_path / "cache")
    with pytest.warns(CacheWarning, match="No space left"):
        first = encode_media(path, profile, tower, cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        second = encode_media(path, profile, tower, cache=cache)  # from memory
    assert second.cached and torch.equal(first.features, second.features)


def test_item_profile_applies_only_the_parts_overrides(qwen) -> None:
    _, profile = qwen
    assert item_profile(ImagePart(path="x.png"), profile) is profile
    assert item_profile(ImagePart(path="x.png", max_pixels=500), profile).resize.max_pixels == 500
