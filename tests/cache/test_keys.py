"""Cache keys: every parameter that shapes an item changes its key, nothing else does."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmtok.cache import keys
from mmtok.cache.encode import TowerOptions, item_profile, media_params
from mmtok.cache.keys import (
    NON_TENSOR_FIELDS,
    PROFILE_FIELDS,
    MediaItem,
    cache_key,
    canonical_json,
    content_digest,
)
from mmtok.errors import ConfigError, MediaError
from mmtok.fusion.request import ImagePart, VideoPart
from mmtok.profiles import PROFILES, Profile
from mmtok.profiles.generic import GENERIC
from mmtok.video.sampling import Sampling, sampling_for

CONTENT = b"\x89PNG not really an image, but bytes are all a key reads"
ENCODER = "e" * 64
PROFILE_LIST = list(PROFILES.values())


def key(profile: Profile, kind: str = "image", source: Any = CONTENT, **params: Any) -> str:
    return cache_key(MediaItem(kind, source), profile, params, ENCODER)  # type: ignore[arg-type]


def changed(value: Any, nudge: int) -> Any:
    """A different value of the same shape (``nudge`` ≥ 1 varies how it differs)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + nudge
    if isinstance(value, float):
        return value * (1 + nudge / 7) + nudge / 11
    if value is None:
        return nudge * 1000
    if isinstance(value, str):
        return value + "x" * nudge
    if isinstance(value, tuple):
        i = nudge % len(value)
        return (*value[:i], changed(value[i], nudge), *value[i + 1 :])
    assert dataclasses.is_dataclass(value)
    names = [f.name for f in dataclasses.fields(value)]
    name = names[nudge % len(names)]
    new = getattr(value, name)
    new = ((1, 2),) if name == "pinpoints" and not new else changed(new, nudge)
    return dataclasses.replace(value, **{name: new})


def test_every_profile_field_is_classified() -> None:
    """A new Profile field must be placed: it shapes some kind's tensors, or it shapes none."""
    shaping = {f for fields in PROFILE_FIELDS.values() for f in fields}
    names = {f.name for f in dataclasses.fields(Profile)}
    assert shaping | set(NON_TENSOR_FIELDS) == names
    assert not shaping & set(NON_TENSOR_FIELDS)


@given(
    st.sampled_from(PROFILE_LIST),
    st.sampled_from(["image", "video"]),
    st.data(),
    st.integers(1, 50),
)
def test_changing_a_shaping_field_changes_the_key(profile, kind, data, nudge) -> None:
    name = data.draw(st.sampled_from(PROFILE_FIELDS[kind]))
    other = dataclasses.replace(profile, **{name: changed(getattr(profile, name), nudge)})
    assert key(other, kind) != key(profile, kind)


@given(st.sampled_from(PROFILE_LIST), st.data(), st.integers(1, 50))
def test_fields_of_other_modalities_leave_the_key(profile, data, nudge) -> None:
    for kind, other_kind in (("image", "video"), ("video", "image")):
        foreign = sorted(set(PROFILE_FIELDS[other_kind]) - set(PROFILE_FIELDS[kind]))
        name = data.draw(st.sampled_from(foreign))
        other = dataclasses.replace(profile, **{name: changed(getattr(profile, name), nudge)})
        assert key(other, kind) == key(profile, kind), name
    # Fields that shape no tensor, except the profile's name (its identity).
    name = data.draw(st.sampled_from(["layout", "rope", "drop_cls", "tokens_per_second", "source"]))
    value = {"layout": "rows", "rope": "1d", "source": "elsewhere"}.get(name)
    value = value if value is not None else changed(getattr(profile, name), nudge)
    other = dataclasses.replace(profile, **{name: value})
    assert key(other) == key(profile)


def test_profile_identity_encoder_and_version_enter_the_key(monkeypatch) -> None:
    base = key(GENERIC)
    assert key(dataclasses.replace(GENERIC, name="generic-2")) != base
    assert cache_key(MediaItem("image", CONTENT), GENERIC, {}, "f" * 64) != base
    assert cache_key(MediaItem("image", CONTENT), GENERIC, {}, None) != base
    assert key(GENERIC, "video") != base  # same bytes, other kind
    monkeypatch.setattr(keys, "PREPROCESS_VERSION", keys.PREPROCESS_VERSION + 1)
    assert key(GENERIC) != base


@given(st.sampled_from([f.name for f in dataclasses.fields(Sampling)]), st.integers(1, 20))
def test_every_sampling_field_and_tower_option_changes_a_video_key(name, nudge) -> None:
    sampling = sampling_for(GENERIC)
    value = getattr(sampling, name)
    new = "uniform" if name == "method" else changed(value, nudge)
    other = dataclasses.replace(sampling, **{name: new})
    assert key(GENERIC, "video", sampling=other) != key(GENERIC, "video", sampling=sampling)


def test_tower_options_projector_and_stage_change_the_key() -> None:
    def params(**kw: Any) -> dict[str, Any]:
        return media_params("image", GENERIC, **kw)

    variants = [
        params(),  # pixels
        params(options=TowerOptions()),
        params(options=TowerOptions(layer=-2)),
        params(options=TowerOptions(merged=True)),
        params(options=TowerOptions(), projector=_Named("p" * 64)),
    ]
    got = {cache_key(MediaItem("image", CONTENT), GENERIC, p, ENCODER) for p in variants}
    assert len(got) == len(variants)
    assert "sampling" not in params()  # video sampling never enters an image key
    assert "sampling" in media_params("video", GENERIC)


@dataclasses.dataclass(frozen=True)
class _Named:
    identity: str


def test_request_overrides_enter_through_the_item_profile() -> None:
    image = item_profile(ImagePart(path="a.png", max_pixels=100_000), GENERIC)
    assert key(image) != key(GENERIC)
    assert key(item_profile(ImagePart(path="a.png"), GENERIC)) == key(GENERIC)
    video = item_profile(VideoPart(path="a.mp4", fps=1.0, max_frames=8), GENERIC)
    assert key(video, "video") != key(GENERIC, "video")
    assert key(video, "image") == key(GENERIC, "image")  # video overrides leave images alone


def test_content_not_name_or_location(tmp_path: Path) -> None:
    first = tmp_path / "a.png"
    first.write_bytes(CONTENT)
    (tmp_path / "sub").mkdir()
    second = tmp_path / "sub" / "renamed.jpg"
    second.write_bytes(CONTENT)
    assert key(GENERIC, source=first) == key(GENERIC, source=second) == key(GENERIC)
    assert key(GENERIC, source=str(first)) == key(GENERIC)
    first.write_bytes(CONTENT + b"!")  # changed in place: same path, other bytes
    assert key(GENERIC, source=first) != key(GENERIC, source=second)
    with pytest.raises(MediaError, match=r"absent\.png"):
        key(GENERIC, source=tmp_path / "absent.png")


def test_key_is_the_digest_of_the_documented_recipe() -> None:
    """Derived by hand from the module doc: SHA-256 of sorted, compact JSON."""
    recipe = {
        "content": hashlib.sha256(CONTENT).hexdigest(),
        "encoder": ENCODER,
        "kind": "image",
        "params": {"stage": "pixels"},
        "profile": "generic",
        "rules": {
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "merge_size": 1,
            "patch_size": 16,
            "interpolation": "bicubic",
            "resampler": "pil",
            "rescale_factor": 1 / 255,
            "resize": {
                "type": "SmartResize",
                "min_pixels": 1024,
                "max_pixels": 262144,
                "max_aspect_ratio": 200.0,
                "frames": 1,
                "upscale": False,
            },
            "temporal_patch_size": 1,
        },
        "version": keys.PREPROCESS_VERSION,
    }
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    assert key(GENERIC, stage="pixels") == hashlib.sha256(text.encode()).hexdigest()


def test_same_key_in_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "img.bin"
    path.write_bytes(CONTENT)
    script = (
        "import sys; from mmtok.cache.keys import MediaItem, cache_key;"
        "from mmtok.profiles import PROFILES;"
        f"print(cache_key(MediaItem('video', sys.argv[1]), PROFILES['qwen2-vl'],"
        f" {{'a': (1, 2.5), 'b': {{'z': 1, 'y': None}}}}, {ENCODER!r}))"
    )
    expected = cache_key(
        MediaItem("video", path),
        PROFILES["qwen2-vl"],
        {"b": {"y": None, "z": 1}, "a": [1, 2.5]},
        ENCODER,
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True
        )
        assert out.stdout.strip() == expected, out.stderr


def test_canonical_form_refuses_what_it_cannot_pin() -> None:
    with pytest.raises(ConfigError, match=r"params\.fps.*not finite"):
        canonical_json({"params": {"fps": float("nan")}})
    with pytest.raises(ConfigError, match="object has no canonical form"):
        canonical_json({"x": object()})

    # Policies with equal field values but different rules still differ.
    @dataclasses.dataclass(frozen=True)
    class A:
        n: int = 1

    @dataclasses.dataclass(frozen=True)
    class B:
        n: int = 1

    assert canonical_json(A()) != canonical_json(B())
    assert content_digest(CONTENT) == hashlib.sha256(CONTENT).hexdigest()
