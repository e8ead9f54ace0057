"""Prefill cost of a request: FLOPs (linear + attention), KV-cache bytes, time to first token.

Formulas (per forward pass over ``L`` prompt tokens), following the standard accounting of
Kaplan et al. 2020 ("Scaling Laws", Table 1: 2 FLOPs per multiply-add) and Pope et al. 2022
("Efficiently Scaling Transformer Inference", KV-cache size):

- linear FLOPs = ``2 · L · P_layer · layers`` with ``P_layer`` the matmul weights of one layer:
  attention projections ``d · h_d · (2·heads + 2·kv_heads)`` (q, o and the grouped k, v) plus the
  MLP ``n_mat · d · d_ff`` (``n_mat`` = 3 for gated SwiGLU MLPs, 2 otherwise; for MoE the
  ``experts_per_token`` routed experts plus shared experts, and a ``d · E`` router), plus the LM
  head ``2 · d · V`` for the one position whose logits prefill needs;
- attention FLOPs = ``4 · heads · h_d · Σᵢ(i)`` = ``2 · heads · h_d · L · (L + 1)`` per layer:
  QKᵀ and AV over the causal triangle (query ``i`` sees ``i`` keys), which grows with ``L²``;
- KV-cache bytes = ``2 · layers · kv_heads · h_d · bytes_per_value · L`` (K and V), linear in ``L``;
- time to first token = (LLM FLOPs + vision-encoder FLOPs) / (peak FLOP/s · utilisation).

Norms, rotary embeddings and softmax are left out: under 1% of the total at these sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtok.errors import ConfigError

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "fp8": 1, "int8": 1}


@dataclass(frozen=True)
class LLMSpec:
    """The numbers of a decoder-only LLM that set its prefill cost."""

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
    """A ViT vision tower: per-patch cost of its encoder layers (attention over one image)."""

    name: str
    layers: int
    hidden: int
    intermediate: int
    mlp_matrices: int = 2  # GELU MLP

    def flops(self, patches: int) -> int:
        """Encoder FLOPs for one image of ``patches`` patches (full, non-causal attention)."""
        linear = (
            2 * patches * (4 * self.hidden**2 + self.mlp_matrices * self.hidden * self.intermediate)
        )
        attention = 4 * patches * patches * self.hidden
        return self.layers * (linear + attention)


@dataclass(frozen=True)
class Cost:
    """Prefill cost of ``tokens`` prompt tokens; FLOPs, bytes and seconds."""

    tokens: int
    linear_flops: int
    attention_flops: int
    vision_flops: int
    kv_cache_bytes: int
    ttft_seconds: float

    @property
    def total_flops(self) -> int:
        return self.linear_flops + self.attention_flops + self.vision_flops


def prefill_flops(spec: LLMSpec, tokens: int) -> tuple[int, int]:
    """``(linear, attention)`` FLOPs of one prefill over ``tokens`` positions."""
    linear = 2 * tokens * spec.linear_params_per_layer * spec.layers + 2 * spec.hidden * spec.vocab
    attention = 2 * spec.heads * spec.head_dim * tokens * (tokens + 1) * spec.layers
    return linear, attention


def kv_cache_bytes(spec: LLMSpec, tokens: int) -> int:
    """Bytes of K and V kept for ``tokens`` positions across all layers."""
    return 2 * spec.layers * spec.kv_heads * spec.head_dim * spec.bytes_per_value * tokens


def estimate(
    spec: LLMSpec,
    tokens: int,
    *,
    vision_flops: int = 0,
    peak_flops: float = 989e12,
    utilisation: float = 0.4,
) -> Cost:
    """Cost of a prefill; the default accelerator is an H100 SXM (989 TFLOP/s dense bf16)."""
    linear, attention = prefill_flops(spec, tokens)
    seconds = (linear + attention + vision_flops) / (peak_flops * utilisation)
    return Cost(tokens, linear, attention, vision_flops, kv_cache_bytes(spec, tokens), seconds)


LLM_PRESETS: dict[str, LLMSpec] = {
    s.name: s
    for s in (
        LLMSpec("llama-3-8b", 32, 4096, 32, 8, 128, 14336, 128256),
        LLMSpec("qwen2-7b", 28, 3584, 28, 4, 128, 18944, 152064),
        LLMSpec("qwen2-1.5b", 28, 1536, 12, 2, 128, 8960, 151936),
        LLMSpec("mistral-nemo-12b", 40, 5120, 32, 8, 128, 14336, 131072),  # Pixtral-12B's LLM
        LLMSpec("vicuna-7b", 32, 4096, 32, 32, 128, 11008, 32000),  # LLaVA-1.5-7B's LLM
        LLMSpec("mistral-7b", 32, 4096, 32, 8, 128, 14336, 32768),  # LLaVA-NeXT-Mistral-7B
    )
}

# Vision towers of the built-in profiles (layers, width, MLP width of the released checkpoints).
VISION_PRESETS: dict[str, VisionSpec] = {
    "qwen2-vl": VisionSpec("qwen2-vl-vit-675m", 32, 1280, 5120),
    "qwen2.5-vl": VisionSpec("qwen2.5-vl-vit", 32, 1280, 3420, mlp_matrices=3),
    "pixtral": VisionSpec("pixtral-vit-400m", 24, 1024, 4096, mlp_matrices=3),
    "llava-1.5": VisionSpec("clip-vit-l-336", 24, 1024, 4096),
    "llava-next": VisionSpec("clip-vit-l-336", 24, 1024, 4096),
    "generic": VisionSpec("vit-b-16", 12, 768, 3072),
}

# The LLM each built-in profile is usually paired with (used when --llm is not given).
DEFAULT_LLM = {
    "qwen2-vl": "qwen2-7b",
    "qwen2.5-vl": "qwen2-7b",
    "pixtral": "mistral-nemo-12b",
    "llava-1.5": "vicuna-7b",
    "llava-next": "mistral-7b",
    "generic": "llama-3-8b",
}


def _int(config: dict[str, Any], source: str, *keys: str) -> int:
    for key in keys:
        if config.get(key) is not None:
            try:
                return int(config[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{source}: {key} must be an integer, got {config[key]!r}"
                ) from exc
    raise ConfigError(f"{source}: missing {' or '.join(keys)}")


def spec_from_config(config: dict[str, Any], name: str = "config.json") -> LLMSpec:
    """An :class:`LLMSpec` from a Hugging Face ``config.json`` (its ``text_config`` for VLMs)."""
    if not isinstance(config, dict):
        raise ConfigError(f"{name}: expected a JSON object")
    cfg = config.get("text_config") or config.get("llm_config") or config
    hidden = _int(cfg, name, "hidden_size", "n_embd", "d_model")
    heads = _int(cfg, name, "num_attention_heads", "n_head")
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    dtype = str(
        cfg.get("torch_dtype") or cfg.get("dtype") or config.get("torch_dtype") or "bfloat16"
    )
    experts = int(
        cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts") or 0
    )
    return LLMSpec(
        name=str(cfg.get("_name_or_path") or cfg.get("model_type") or name),
        layers=_int(cfg, name, "num_hidden_layers", "n_layer"),
        hidden=hidden,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=int(cfg.get("intermediate_size") or 4 * hidden),
        vocab=_int(cfg, name, "vocab_size"),
        bytes_per_value=_DTYPE_BYTES.get(dtype, 2),
        mlp_matrices=2 if cfg.get("model_type") in {"gpt2", "gpt_neox", "opt"} else 3,
        experts=experts,
        experts_per_token=int(cfg.get("num_experts_per_tok") or 0) if experts else 0,
        expert_intermediate=int(
            cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 0
        )
        if experts
        else 0,
        shared_experts=int(cfg.get("n_shared_experts") or 0) if experts else 0,
    )


def load_llm(name_or_path: str) -> LLMSpec:
    """A preset by name, or a spec read from a ``config.json`` path (or a folder holding one)."""
    if name_or_path in LLM_PRESETS:
        return LLM_PRESETS[name_or_path]
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"unknown LLM {name_or_path!r}: expected one of {', '.join(LLM_PRESETS)} "
            "or a config.json path"
        )
    try:
        config = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    return spec_from_config(config, str(path))
