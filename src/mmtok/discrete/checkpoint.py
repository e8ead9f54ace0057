"""Tokenizer checkpoints: a folder with ``config.json`` and ``model.safetensors``, never pickle.

``config.json`` names the model kind and holds its frozen config; loading rebuilds the model
from it and accepts the tensors only if every name, shape and dtype is what that model needs,
so a truncated or mismatched file fails here, with the tensor's name, not deep in a forward.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from mmtok.discrete.codec import CodecConfig, RVQCodec
from mmtok.discrete.vq import VQImageConfig, VQImageTokenizer
from mmtok.errors import ConfigError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
FORMAT_VERSION = 1

# kind -> (config class, model class); the kind is what config.json records.
MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "vq-image": (VQImageConfig, VQImageTokenizer),
    "rvq-codec": (CodecConfig, RVQCodec),
}

Tokenizer = VQImageTokenizer | RVQCodec


def kind_of(model: nn.Module) -> str:
    """The kind name config.json records for ``model``."""
    return next(kind for kind, (_, cls) in MODELS.items() if isinstance(model, cls))


def config_from_dict(cls: type, data: Any, where: str) -> Any:
    """Rebuild a (nested) frozen config dataclass from its JSON form; ``where`` names the input.

    JSON has no tuples, so list fields typed as tuples become tuples; unknown or missing
    fields and values of the wrong type raise ConfigError.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object for {cls.__name__}, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"{where}: unknown {cls.__name__} fields {sorted(unknown)}")
    hints = typing.get_type_hints(cls)
    values = {
        name: _field_value(hints[name], value, f"{where}.{name}") for name, value in data.items()
    }
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        raise ConfigError(f"{where}: {error}") from None


def _field_value(hint: Any, value: Any, where: str) -> Any:
    """One field: a nested config, a tuple (a JSON list), or a scalar of exactly its type."""
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where)
    if typing.get_origin(hint) is tuple and isinstance(value, list):
        return tuple(_field_value(typing.get_args(hint)[0], v, where) for v in value)
    if hint is float and type(value) is int:
        return float(value)
    if type(value) is not hint:  # exact: JSON true is not an int, 1.5 is not an int
        name = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"{where}: expected {name}, got {value!r}")
    return value


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temporary file, so an interrupted write leaves the old file whole."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing or malformed one raises ConfigError naming it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None


def write_tensors(path: Path, tensors: dict[str, Tensor]) -> None:
    """Save named tensors as safetensors, through a temporary file."""
    tmp = path.with_name(path.name + ".tmp")
    save_file({name: t.detach().contiguous() for name, t in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def read_tensors(path: Path, expected: dict[str, Tensor]) -> dict[str, Tensor]:
    """Load safetensors and check them against ``expected`` (name -> a tensor of the right
    shape and dtype); any missing, extra or mismatched tensor raises ConfigError."""
    try:
        tensors = load_file(str(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (SafetensorError, OSError) as error:
        raise ConfigError(f"{path}: not a readable safetensors file ({error})") from None
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ConfigError(f"{path}: missing tensors {missing}, unexpected tensors {extra}")
    for name, want in expected.items():
        got = tensors[name]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise ConfigError(
                f"{path}: tensor {name!r} is {tuple(got.shape)} {got.dtype}, "
                f"the config needs {tuple(want.shape)} {want.dtype}"
            )
    return tensors


def save_model(directory: Path, model: Tokenizer) -> None:
    """Write ``config.json`` and ``model.safetensors`` for ``model`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "kind": kind_of(model),
        "version": FORMAT_VERSION,
        "config": dataclasses.asdict(model.config),
    }
    write_json(directory / CONFIG_FILE, config)
    write_tensors(directory / MODEL_FILE, model.state_dict())


def load_config(directory: Path) -> tuple[str, Any]:
    """Read ``config.json``: (kind, frozen config)."""
    path = directory / CONFIG_FILE
    data = read_json(path)
    if not isinstance(data, dict) or data.get("kind") not in MODELS:
        raise ConfigError(f"{path}: 'kind' must be one of {sorted(MODELS)}")
    if data.get("version") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: format version {data.get('version')!r}, expected {FORMAT_VERSION}"
        )
    config_cls, _ = MODELS[data["kind"]]
    return data["kind"], config_from_dict(config_cls, data.get("config"), f"{path}:config")


def load_model(directory: Path, kind: str | None = None) -> Tokenizer:
    """Rebuild the model saved in ``directory``, in eval mode, with its exact tensors.

    ``kind`` (``"vq-image"``, ``"rvq-codec"``), when given, must match the checkpoint's.
    """
    found, config = load_config(directory)
    if kind is not None and found != kind:
        raise ConfigError(f"{directory}: holds a {found} checkpoint, expected {kind}")
    model = MODELS[found][1](config)
    tensors = read_tensors(directory / MODEL_FILE, model.state_dict())
    model.load_state_dict(tensors)
    return model.eval()
