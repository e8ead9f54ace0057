"""The public API (``mmtok/__init__.py``): every name resolves, lazily, and functions that
take a profile also take its name or a model folder."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import Qwen2VLConfig
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
    smart_resize,
)

import mmtok
from mmtok.budget.density import density_report
from mmtok.errors import ConfigError
from tests.images import encode, random_image


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(encode(random_image(1000, 700), "JPEG"))
    return path


@pytest.fixture
def qwen_folder(tmp_path):
    """A Qwen2-VL model folder (config and image processor, no weights) capped at 200,000
    pixels, well below the built-in profile's 1,003,520."""
    folder = tmp_path / "qwen-small"
    Qwen2VLConfig().save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=200_000).save_pretrained(folder)
    return folder


def test_every_public_name_resolves_and_probe_stays_the_function():
    import mmtok.probe  # binds the submodule's name on the package, unless the API keeps it

    for name in mmtok.__all__:
        assert getattr(mmtok, name) is not None
    assert callable(mmtok.probe) and mmtok.probe.__module__ == "mmtok.probe"
    assert mmtok.plan is mmtok.fusion.plan_sequence
    with pytest.raises(AttributeError, match="no_such_name"):
        mmtok.no_such_name  # noqa: B018


def test_count_file_takes_a_profile_name(photo):
    by_name = mmtok.count_file(photo, "qwen2-vl")
    assert by_name == mmtok.count_file(photo, mmtok.get_profile("qwen2-vl"))
    h, w = smart_resize(700, 1000, 28, 56 * 56, 28 * 28 * 1280)
    assert by_name.error is None and by_name.tokens == (h // 28) * (w // 28)


def test_count_file_takes_a_model_folder(photo, qwen_folder):
    row = mmtok.count_file(photo, qwen_folder)
    h, w = smart_resize(700, 1000, 28, 56 * 56, 200_000)
    assert row.error is None and row.tokens == (h // 28) * (w // 28)
    assert mmtok.count_file(photo, str(qwen_folder)) == row


def test_an_unknown_profile_name_is_a_config_error(photo):
    with pytest.raises(ConfigError, match="unknown profile 'qwen9'"):
        mmtok.count_file(photo, "qwen9")


def test_preprocess_image_takes_a_name_or_a_folder(photo, qwen_folder):
    by_name = mmtok.preprocess_image(photo, "qwen2-vl")
    by_profile = mmtok.preprocess_image(photo, mmtok.get_profile("qwen2-vl"))
    assert np.array_equal(by_name.pixel_values, by_profile.pixel_values)
    batch = mmtok.preprocess_images([photo], qwen_folder)
    h, w = smart_resize(700, 1000, 28, 56 * 56, 200_000)
    assert batch.image_grid_thw.tolist() == [[1, h // 14, w // 14]]


def test_density_takes_a_name():
    assert density_report("llava-1.5") == density_report(mmtok.get_profile("llava-1.5"))
