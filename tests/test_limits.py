"""Limits on untrusted work: per-item options and planned items checked before anything is
allocated, clear typed errors, one place to change them, and the default duration limit on
every path that probes."""

from __future__ import annotations

import inspect
import math
import resource
from pathlib import Path

import pytest

from mmtok.audio.features import load_audio_features
from mmtok.audio.plan import count_audio
from mmtok.errors import ConfigError, MediaTooLargeError, RequestError, UnsupportedMediaError
from mmtok.fusion import count_request, plan_sequence
from mmtok.limits import DEFAULT_LIMITS, Limits
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.profiles import get_profile
from mmtok.video.pixels import load_video
from mmtok.video.plan import count_video
from tests.images import encode, random_image

pytestmark = pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("limits") / "small.png"
    path.write_bytes(encode(random_image(40, 28, seed=1), "PNG"))
    return path


def _image(path: Path, **options) -> dict:
    return {"prompt": "<image>", "media": [{"type": "image", "path": str(path), **options}]}


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan])
def test_limits_are_validated(value: float) -> None:
    with pytest.raises(ConfigError, match="max_frames"):
        Limits(max_frames=value)


def test_min_pixels_of_a_trillion_is_refused_before_any_allocation(png: Path) -> None:
    """It asked for a 29 GiB id array: 10**12 pixels / 28² = 1.3 billion tokens."""
    count_request({"prompt": "warm"}, "qwen2-vl")  # the tokenizer's own memory, loaded once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(RequestError, match=r"media\[0\].*min_pixels 1,000,000,000,000 is above"):
        count_request(_image(png, min_pixels=10**12), "qwen2-vl")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def test_a_resized_image_over_the_limit_is_refused_naming_the_file(png: Path) -> None:
    # qwen2-vl's own min_pixels (56² = 3,136) scales the 40×28 image by √(3136/1120) and ceils
    # each side to a multiple of 28: 56×84 = 4,704 pixels.
    with pytest.raises(MediaTooLargeError, match=r"small\.png: image plans 4,704 resized pixels"):
        count_request(_image(png), "qwen2-vl", limits=Limits(max_resized_pixels=3_000))


def test_tokens_per_item_and_per_request_are_bounded(png: Path) -> None:
    with pytest.raises(MediaTooLargeError, match=r"image plans .* tokens, above the limit of 4"):
        plan_sequence(_image(png), "qwen2-vl", limits=Limits(max_item_tokens=4))
    with pytest.raises(RequestError, match="more than 100 tokens"):
        count_request({"prompt": "word " * 500}, "qwen2-vl", limits=Limits(max_request_tokens=100))
    assert count_request({"prompt": "word " * 500}, "qwen2-vl").total > 100  # default: fine


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("fps", 1e6, "fps 1,000,000.0 is above the limit of 1,000.0"),
     ("max_frames", 10**6, "max_frames 1,000,000 is above the limit of 32,768")],
)  # fmt: skip
def test_video_sampling_options_are_bounded(tmp_path: Path, option, value, message) -> None:
    from tests.fuzz import sample

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(sample("mp4"))
    request = {"prompt": "<video>", "media": [{"type": "video", "path": str(clip), option: value}]}
    with pytest.raises(RequestError, match=rf"media\[0\] \(.*clip\.mp4\): {message}"):
        count_request(request, "qwen2-vl")


def test_llava_refuses_a_strip_its_resize_would_blow_up() -> None:
    """A valid 4000×1 PNG: transformers' CLIP processor takes 28 s and 4.7 GB for it."""
    profile = get_profile("llava-1.5")
    with pytest.raises(UnsupportedMediaError, match=r"strip\.png: 4000×1 has aspect ratio 4000"):
        profile.plan_image(1, 4000, source="strip.png")
    assert profile.plan_image(30, 4000).tokens == 576  # ratio 133: still planned


@pytest.mark.parametrize("function", [count_audio, load_audio_features, count_video, load_video])
def test_the_default_duration_limit_applies_on_every_path(function) -> None:
    default = inspect.signature(function).parameters["max_duration"].default
    assert default == DEFAULT_MAX_DURATION == DEFAULT_LIMITS.max_duration
