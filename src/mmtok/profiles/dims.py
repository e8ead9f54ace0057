"""Model dimensions that set a family's compute cost: its LLM and its vision tower, as data.

A :class:`~mmtok.profiles.base.Profile` holds one :class:`LLMSpec` and one
:class:`VisionSpec`; the FLOP and KV-cache formulas that read them live in
:mod:`mmtok.budget.cost`. Hugging Face ``config.json`` files are read here:
:func:`spec_from_config` (every key required, for ``--llm``) and :func:`llm_from_config` /
:func:`vision_from_config` (a model folder's values over its family's preset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from mmtok.errors import ConfigError

_DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "fp8": 1, "int8": 1}
_TWO_MATRIX_MLP = {"gpt2", "gpt_neox", "opt"}  # ungated MLPs: up and down only


@dataclass(frozen=True)
class LLMSpec:
    """The numbers of a decoder-only LLM that set its prefill cost; ``name`` is a label."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    bytes_per_value: int = 2  # bf16 / fp16 weights and KV cache
    mlp_matrices: int = 3  # gated (SwiGLU) MLP: gate, up, down
    experts: int = 0  # routed experts (0 = dense)
    experts_per_token: int = 0
    expert_intermediate: int = 0
    shared_experts: int = 0

    @property
    def linear_params_per_layer(self) -> int:
        """Matmul weights one token passes through in one layer."""
        attn = self.hidden * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        if self.experts:
            ff = self.expert_intermediate * (self.experts_per_token + self.shared_experts)
            return attn + self.mlp_matrices * self.hidden * ff + self.hidden * self.experts
        return attn + self.mlp_matrices * self.hidden * self.intermediate


@dataclass(frozen=True)
class VisionSpec:
    """A ViT vision tower: ``layers`` encoder layers of width ``hidden`` and MLP width
    ``intermediate``; ``name`` is a label."""

    name: str
    layers: int
    hidden: int
    intermediate: int
    mlp_matrices: int = 2  # GELU MLP; 3 for a gated one


Spec = TypeVar("Spec", LLMSpec, VisionSpec)

LLAMA_3_8B = LLMSpec("llama-3-8b", 32, 4096, 32, 8, 128, 14336, 128256)
QWEN2_7B = LLMSpec("qwen2-7b", 28, 3584, 28, 4, 128, 18944, 152064)
QWEN2_1_5B = LLMSpec("qwen2-1.5b", 28, 1536, 12, 2, 128, 8960, 151936)
MISTRAL_NEMO_12B = LLMSpec("mistral-nemo-12b", 40, 5120, 32, 8, 128, 14336, 131072)
VICUNA_7B = LLMSpec("vicuna-7b", 32, 4096, 32, 32, 128, 11008, 32000)
MISTRAL_7B = LLMSpec("mistral-7b", 32, 4096, 32, 8, 128, 14336, 32768)

LLM_PRESETS: dict[str, LLMSpec] = {
    s.name: s for s in (LLAMA_3_8B, QWEN2_7B, QWEN2_1_5B, MISTRAL_NEMO_12B, VICUNA_7B, MISTRAL_7B)
}
"""LLMs by name (``mmtok plan --llm``); each built-in profile points at the one it ships with."""


def _int(config: dict[str, Any], source: str, *keys: str) -> int | None:
    """The first of ``keys`` present in ``config`` as an int; ``None`` when none is."""
    for key in keys:
        value = config.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)  # json reads NaN / Infinity
            or value != int(value)
            or value < 0
        ):
            raise ConfigError(f"{source}: {key} must be an integer ≥ 0, got {value!r}")
        return int(value)
    return None


def _text_config(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The LLM's part of a ``config.json``: its ``text_config`` for VLMs, else the top level."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a JSON object")
    cfg = config.get("text_config") or config.get("llm_config") or config
    if not isinstance(cfg, dict):
        raise ConfigError(f"{source}: text_config must be a JSON object")
    return cfg


def _llm_fields(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The :class:`LLMSpec` fields ``config`` states; ``kv_heads`` and ``head_dim`` follow
    from ``heads`` and ``hidden`` when only those are stated (as transformers derives them)."""
    cfg = _text_config(config, source)
    found = {
        "layers": _int(cfg, source, "num_hidden_layers", "n_layer"),
        "hidden": _int(cfg, source, "hidden_size", "n_embd", "d_model"),
        "heads": _int(cfg, source, "num_attention_heads", "n_head"),
        "kv_heads": _int(cfg, source, "num_key_value_heads"),
        "head_dim": _int(cfg, source, "head_dim"),
        "intermediate": _int(cfg, source, "intermediate_size"),
        "vocab": _int(cfg, source, "vocab_size"),
        "experts": _int(cfg, source, "num_local_experts", "num_experts", "n_routed_experts"),
    }
    if found["heads"] and found["kv_heads"] is None:
        found["kv_heads"] = found["heads"]
    if found["heads"] and found["hidden"] and found["head_dim"] is None:
        found["head_dim"] = found["hidden"] // found["heads"]
    if found["experts"]:
        found["experts_per_token"] = _int(cfg, source, "num_experts_per_tok") or 0
        found["expert_intermediate"] = (
            _int(cfg, source, "moe_intermediate_size", "intermediate_size") or 0
        )
        found["shared_experts"] = _int(cfg, source, "n_shared_experts") or 0
    dtype = cfg.get("torch_dtype") or cfg.get("dtype") or config.get("torch_dtype")
    if dtype is not None:
        found["bytes_per_value"] = _DTYPE_BYTES.get(str(dtype), 2)
    if cfg.get("model_type") is not None:
        found["mlp_matrices"] = 2 if cfg["model_type"] in _TWO_MATRIX_MLP else 3
    return {k: v for k, v in found.items() if v is not None}


def spec_from_config(config: dict[str, Any], name: str = "config.json") -> LLMSpec:
    """An :class:`LLMSpec` from a Hugging Face ``config.json`` (its ``text_config`` for VLMs).

    Raises :class:`ConfigError` naming ``name`` and the key when layers, width, heads or
    vocabulary are missing, or a value is not an integer.
    """
    fields = _llm_fields(config, name)
    for key, keys in (
        ("hidden", "hidden_size or n_embd or d_model"),
        ("heads", "num_attention_heads or n_head"),
        ("layers", "num_hidden_layers or n_layer"),
        ("vocab", "vocab_size"),
    ):
        if key not in fields:
            raise ConfigError(f"{name}: missing {keys}")
    cfg = _text_config(config, name)
    return LLMSpec(
        **{
            "name": str(cfg.get("_name_or_path") or cfg.get("model_type") or name),
            "intermediate": 4 * fields["hidden"],
            **fields,
        }
    )


def llm_from_config(config: dict[str, Any], preset: LLMSpec, name: str, source: str) -> LLMSpec:
    """``preset`` with every LLM dimension that ``config`` states replaced; ``name`` labels
    the result when that changes any."""
    return _relabel(preset, replace(preset, **_llm_fields(config, source)), name)


def vision_from_config(
    config: dict[str, Any], preset: VisionSpec, name: str, source: str
) -> VisionSpec:
    """``preset`` with the tower dimensions of ``config["vision_config"]`` replaced.

    Qwen2-VL's tower states ``depth``, ``embed_dim`` and ``mlp_ratio`` (its ``hidden_size`` is
    the LLM's width); CLIP, Pixtral and Qwen2.5-VL state ``num_hidden_layers`` or ``depth``,
    ``hidden_size`` and ``intermediate_size``.
    """
    vision = config.get("vision_config") or {}
    if not isinstance(vision, dict):
        raise ConfigError(f"{source}: vision_config must be a JSON object")
    hidden = _int(vision, source, "embed_dim", "hidden_size")
    ratio = vision.get("mlp_ratio")
    intermediate = _int(vision, source, "intermediate_size")
    if intermediate is None and ratio is not None and hidden is not None:
        number = isinstance(ratio, int | float) and not isinstance(ratio, bool)
        if not (number and 0 < ratio < math.inf):
            raise ConfigError(f"{source}: mlp_ratio must be a positive number, got {ratio!r}")
        intermediate = int(hidden * ratio)
    found = {
        "layers": _int(vision, source, "depth", "num_hidden_layers"),
        "hidden": hidden,
        "intermediate": intermediate,
    }
    fields = {k: v for k, v in found.items() if v is not None}
    return _relabel(preset, replace(preset, **fields), name)


def _relabel(preset: Spec, spec: Spec, name: str) -> Spec:
    """``spec`` labelled ``name`` when its dimensions differ from ``preset``'s, else ``preset``."""
    return preset if spec == preset else replace(spec, name=name)
