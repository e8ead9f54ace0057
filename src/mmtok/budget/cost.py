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

from mmtok.errors import ConfigError
from mmtok.profiles.dims import LLM_PRESETS, LLMSpec, VisionSpec, spec_from_config


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


def vision_flops(spec: VisionSpec, patches: int) -> int:
    """Encoder FLOPs for one image of ``patches`` patches (full, non-causal attention)."""
    linear = (
        2 * patches * (4 * spec.hidden**2 + spec.mlp_matrices * spec.hidden * spec.intermediate)
    )
    attention = 4 * patches * patches * spec.hidden
    return spec.layers * (linear + attention)


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
