"""Cost model: FLOPs and KV-cache bytes against values derived by hand for two real configs."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mmtok.budget.cost import estimate, kv_cache_bytes, load_llm, prefill_flops, vision_flops
from mmtok.budget.plan import plan_request
from mmtok.errors import ConfigError
from mmtok.fusion.request import parse_request
from mmtok.profiles import get_profile
from mmtok.profiles.dims import LLAMA_3_8B, VisionSpec, spec_from_config

# Meta-Llama-3-8B config.json (the fields that matter).
LLAMA3_8B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "torch_dtype": "bfloat16",
}
# Qwen2-7B-Instruct config.json.
QWEN2_7B = {
    "model_type": "qwen2",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "torch_dtype": "bfloat16",
}


def test_llama3_8b_by_hand():
    spec = spec_from_config(LLAMA3_8B)
    # head_dim 4096/32 = 128. Per layer: attention 4096·128·(2·32 + 2·8) = 41,943,040;
    # MLP 3·4096·14336 = 176,160,768 → 218,103,808; × 32 layers = 6,979,321,856.
    assert spec.linear_params_per_layer * spec.layers == 6_979_321_856
    linear, attention = prefill_flops(spec, 1000)
    # 2·1000·6,979,321,856 + LM head 2·4096·128,256 = 13,958,643,712,000 + 1,050,673,152.
    assert linear == 13_959_694_385_152
    # 2·32·128·1000·1001·32 layers.
    assert attention == 262_406_144_000
    # K and V: 2·32 layers·8 heads·128·2 bytes = 131,072 bytes per token.
    assert kv_cache_bytes(spec, 1000) == 131_072_000


def test_qwen2_7b_by_hand():
    spec = spec_from_config(QWEN2_7B)
    # Attention 3584·128·(56 + 8) = 29,360,128; MLP 3·3584·18944 = 203,685,888.
    assert spec.linear_params_per_layer == 233_046_016
    # 2·28·4·128·2 = 57,344 bytes per token.
    assert kv_cache_bytes(spec, 1) == 57_344
    _, attention = prefill_flops(spec, 10)
    assert attention == 2 * 28 * 128 * 10 * 11 * 28 == 22_077_440


def test_attention_grows_quadratically_and_kv_linearly():
    spec = spec_from_config(LLAMA3_8B)
    _, a1 = prefill_flops(spec, 4000)
    _, a2 = prefill_flops(spec, 8000)
    assert 3.99 < a2 / a1 < 4.01
    assert kv_cache_bytes(spec, 8000) == 2 * kv_cache_bytes(spec, 4000)


def test_ttft_divides_by_peak_and_utilisation():
    spec = spec_from_config(QWEN2_7B)
    cost = estimate(spec, 2048, vision_flops=10**12, peak_flops=1e15, utilisation=0.5)
    assert cost.ttft_seconds == pytest.approx(cost.total_flops / 5e14)
    assert cost.total_flops == cost.linear_flops + cost.attention_flops + 10**12


def test_presets_and_config_files(tmp_path):
    assert load_llm("llama-3-8b").kv_heads == 8
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"text_config": QWEN2_7B, "model_type": "qwen2_vl"}))
    assert load_llm(str(tmp_path)).hidden == 3584


def test_moe_counts_only_active_experts():
    mixtral = dict(LLAMA3_8B, num_local_experts=8, num_experts_per_tok=2)
    spec = spec_from_config(mixtral)
    # 2 of 8 experts of 14,336 each, plus a 4096×8 router.
    assert spec.linear_params_per_layer == 41_943_040 + 3 * 4096 * 14336 * 2 + 4096 * 8


def test_bad_configs_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown LLM 'gpt-9'"):
        load_llm("gpt-9")
    bad = tmp_path / "config.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_llm(str(bad))
    with pytest.raises(ConfigError, match="missing num_hidden_layers"):
        spec_from_config({"hidden_size": 8, "num_attention_heads": 2, "vocab_size": 10})
    with pytest.raises(ConfigError, match="must be an integer"):
        spec_from_config(dict(LLAMA3_8B, num_hidden_layers="many"))


def test_vision_tower_flops_by_hand():
    # CLIP ViT-L/14-336 on 576 patches: per layer 2·576·(4·1024² + 2·1024·4096) linear
    # = 14,495,514,624 plus attention 4·576²·1024 = 1,358,954,496; × 24 layers.
    spec = VisionSpec("clip", 24, 1024, 4096)
    assert vision_flops(spec, 576) == 24 * (14_495_514_624 + 1_358_954_496)


def test_each_profile_plans_with_its_own_llm_and_tower():
    request = parse_request({"messages": [{"role": "user", "content": "hello"}]})
    profile = get_profile("generic")
    plan = plan_request(request, profile, context=1000)
    assert plan.llm == "llama-3-8b"
    assert plan.cost == estimate(LLAMA_3_8B, plan.input_tokens)
    small = dataclasses.replace(profile, llm=spec_from_config(QWEN2_7B, "qwen"), name="x")
    assert plan_request(request, small, context=1000).cost == estimate(
        spec_from_config(QWEN2_7B), plan.input_tokens
    )


@pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")
def test_a_model_folder_costs_its_config_dimensions(tmp_path):
    from transformers import LlavaConfig

    LlavaConfig(
        text_config={
            "model_type": "llama",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "vocab_size": 1000,
        },
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 32,
            "num_attention_heads": 4,
        },
    ).save_pretrained(tmp_path)
    request = parse_request({"messages": [{"role": "user", "content": "hello there"}]})
    plan = plan_request(request, get_profile(tmp_path), context=1000)
    n = plan.input_tokens
    # head_dim 64/4 = 16. Per layer: attention 64·16·(2·4 + 2·2) = 12,288; MLP 3·64·128 =
    # 24,576 → 36,864; × 2 layers = 73,728. LM head 2·64·1000 = 128,000.
    assert plan.cost.linear_flops == 2 * n * 73_728 + 128_000
    assert plan.cost.attention_flops == 2 * 4 * 16 * n * (n + 1) * 2
    # K and V: 2·2 layers·2 heads·16·2 bytes = 256 bytes per token.
    assert plan.cost.kv_cache_bytes == 256 * n
    assert plan.llm == tmp_path.name
