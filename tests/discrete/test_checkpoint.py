"""Checkpoints: safetensors + JSON that load back bit-identically, and refuse what does not fit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from mmtok.discrete.checkpoint import (
    CONFIG_FILE,
    MODEL_FILE,
    config_from_dict,
    load_model,
    save_model,
)
from mmtok.discrete.codec import CodecConfig, RVQCodec
from mmtok.discrete.quantize import QuantizerConfig
from mmtok.discrete.vq import VQImageConfig, VQImageTokenizer
from mmtok.errors import ConfigError

TINY_QUANTIZER = QuantizerConfig(dim=4, codebook_size=16)


def tiny(kind: str) -> VQImageTokenizer | RVQCodec:
    """A tiny model after one training step, so every buffer (k-means codes, EMA counts)
    holds learned values rather than its initial ones."""
    torch.manual_seed(0)
    if kind == "vq-image":
        model = VQImageTokenizer(VQImageConfig(TINY_QUANTIZER, 8, channels=8, image_size=16))
        model.training_step(torch.rand(4, 3, 16, 16))
    else:
        config = CodecConfig(TINY_QUANTIZER, num_quantizers=3, strides=(2, 4), channels=8)
        model = RVQCodec(config)
        model.training_step(torch.randn(4, 256))
    return model.eval()


@pytest.mark.parametrize("kind", ["vq-image", "rvq-codec"])
def test_checkpoint_loads_back_bit_identically(kind: str, tmp_path: Path) -> None:
    model = tiny(kind)
    save_model(tmp_path, model)
    loaded = load_model(tmp_path, kind)
    assert loaded.config == model.config
    saved, restored = model.state_dict(), loaded.state_dict()
    assert saved.keys() == restored.keys()
    for name, tensor in saved.items():
        assert restored[name].dtype == tensor.dtype
        assert torch.equal(restored[name], tensor), name
    assert not loaded.training
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["kind"] == kind


def _rewrite_tensors(path: Path, change) -> None:
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


def test_missing_tensor_is_refused(tmp_path: Path) -> None:
    save_model(tmp_path, tiny("vq-image"))
    _rewrite_tensors(tmp_path / MODEL_FILE, lambda t: t.pop("quantizer.codebook"))
    with pytest.raises(ConfigError, match=r"missing tensors \['quantizer.codebook'\]"):
        load_model(tmp_path)


def test_wrong_shape_is_refused(tmp_path: Path) -> None:
    save_model(tmp_path, tiny("rvq-codec"))

    def widen(tensors: dict[str, torch.Tensor]) -> None:
        tensors["quantizer.layers.1.codebook"] = torch.zeros(32, 4)

    _rewrite_tensors(tmp_path / MODEL_FILE, widen)
    with pytest.raises(ConfigError, match=r"'quantizer.layers.1.codebook' is \(32, 4\)"):
        load_model(tmp_path)


def test_unexpected_tensor_and_garbage_are_refused(tmp_path: Path) -> None:
    save_model(tmp_path, tiny("vq-image"))
    _rewrite_tensors(tmp_path / MODEL_FILE, lambda t: t.update(extra=torch.zeros(1)))
    with pytest.raises(ConfigError, match=r"unexpected tensors \['extra'\]"):
        load_model(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"not safetensors at all")
    with pytest.raises(ConfigError, match="not a readable safetensors file"):
        load_model(tmp_path)


def test_bad_config_json_is_refused(tmp_path: Path) -> None:
    save_model(tmp_path, tiny("vq-image"))
    path = tmp_path / CONFIG_FILE
    good = json.loads(path.read_text())

    def load_with(change) -> None:
        data = json.loads(json.dumps(good))
        change(data)
        path.write_text(json.dumps(data))
        load_model(tmp_path)

    with pytest.raises(ConfigError, match="'kind' must be one of"):
        load_with(lambda d: d.update(kind="gan"))
    with pytest.raises(ConfigError, match=r"config\.channels: expected int, got '8'"):
        load_with(lambda d: d["config"].update(channels="8"))
    with pytest.raises(ConfigError, match=r"config\.quantizer: unknown QuantizerConfig fields"):
        load_with(lambda d: d["config"]["quantizer"].update(beta=1))
    with pytest.raises(ConfigError, match="format version"):
        load_with(lambda d: d.update(version=99))
    path.write_text(json.dumps(good))
    with pytest.raises(ConfigError, match="holds a vq-image checkpoint, expected rvq-codec"):
        load_model(tmp_path, "rvq-codec")
    path.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(tmp_path)
    with pytest.raises(ConfigError, match="missing"):
        load_model(tmp_path / "nowhere")


def test_config_json_round_trips_tuples_and_nesting() -> None:
    config = CodecConfig(TINY_QUANTIZER, num_quantizers=3, strides=(2, 4, 5), channels=8)
    data = json.loads(json.dumps(dataclasses.asdict(config)))
    assert data["strides"] == [2, 4, 5]
    assert config_from_dict(CodecConfig, data, "test") == config
