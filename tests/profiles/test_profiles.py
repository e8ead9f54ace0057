"""Profiles: built-in values, options, names as labels only, and building from a local
Hugging Face folder (image rules and cost dimensions)."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest

import mmtok
from mmtok.errors import ConfigError, UnsupportedMediaError
from mmtok.profiles import PROFILES, AnyRes, FixedSize, SmartResize, get_profile


def test_the_families_are_built_in():
    assert {
        "qwen2-vl",
        "qwen2.5-vl",
        "pixtral",
        "mistral3",
        "llava-1.5",
        "llava-next",
        "generic",
    } <= set(PROFILES)


def test_qwen_plan_for_a_1000x700_image():
    plan = get_profile("qwen2-vl").plan_image(700, 1000)
    # 700×1008 px → 50×72 patches of 14 → 25×36 merged tokens = 900, fenced by 2 tokens.
    assert plan.resized == (700, 1008)
    assert plan.grid == (1, 50, 72)
    assert plan.tokens == 900
    assert plan.fence_tokens == 2


def test_pixtral_plan_counts_breaks_and_end():
    plan = get_profile("pixtral").plan_image(700, 1000)
    # 44 rows × 63 [IMG] + 43 [IMG_BREAK] + 1 [IMG_END] = 2,816 (the figures).
    assert plan.tokens == 44 * 63 + 43 + 1


def test_llava_is_576_whatever_the_size():
    profile = get_profile("llava-1.5")
    assert {profile.plan_image(h, w).tokens for h, w in [(1, 1), (700, 1000), (4000, 30)]} == {576}


def test_generic_counts_its_fences():
    plan = get_profile("generic").plan_image(64, 64)
    # 64×64 px → 4×4 patches of 16 → 16 tokens + [IMG_START] + [IMG_END].
    assert plan.tokens == 18 and plan.fence_tokens == 0


def test_aspect_ratio_beyond_the_limit_is_refused_with_the_source_named():
    with pytest.raises(UnsupportedMediaError, match=r"strip\.png.*aspect ratio 201"):
        get_profile("qwen2-vl").plan_image(1, 201, source="strip.png")


def test_with_options_overrides_policy_fields():
    small = get_profile("qwen2-vl").with_options(max_pixels=28 * 28 * 4)
    assert small.plan_image(1000, 1000).tokens == 4
    assert get_profile("qwen2-vl").plan_image(1000, 1000).tokens > 4


def test_unknown_profile_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        get_profile("nope")


def _write(folder, name, data):
    (folder / name).write_text(json.dumps(data))


def test_profile_from_a_qwen_folder_takes_its_pixel_limits(tmp_path):
    _write(
        tmp_path,
        "config.json",
        {
            "model_type": "qwen2_5_vl",
            "vision_config": {"tokens_per_second": 2, "spatial_merge_size": 2},
        },
    )
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "Qwen2VLImageProcessor",
            "min_pixels": 3136,
            "max_pixels": 12845056,
            "patch_size": 14,
            "merge_size": 2,
            "temporal_patch_size": 2,
        },
    )
    profile = get_profile(tmp_path)
    assert isinstance(profile.resize, SmartResize)
    assert profile.resize.max_pixels == 12845056
    assert profile.tokens_per_second == 2
    # Under the folder's 12.8 M pixel cap 2000×3000 is only rounded: 2000/28 = 71.4 → 71,
    # 3000/28 = 107.1 → 107 merged tokens per side (the built-in cap would shrink it).
    assert profile.plan_image(2000, 3000).tokens == 71 * 107


def test_profile_from_a_llava_next_folder(tmp_path):
    _write(
        tmp_path,
        "config.json",
        {"model_type": "llava_next", "vision_feature_select_strategy": "full"},
    )
    # The processor reads its pinpoints from the image processor's settings, not config.json.
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "LlavaNextImageProcessor",
            "image_grid_pinpoints": [[336, 672], [672, 336]],
            "size": {"shortest_edge": 336},
            "crop_size": {"height": 336, "width": 336},
        },
    )
    profile = get_profile(tmp_path)
    assert isinstance(profile.resize, AnyRes)
    assert profile.resize.pinpoints == ((336, 672), (672, 336))
    assert profile.drop_cls is False


def test_profile_from_a_llava_folder_with_padding(tmp_path):
    # LlavaImageProcessor pads to a square; CLIPImageProcessor's do_pad only pads a batch.
    _write(
        tmp_path,
        "preprocessor_config.json",
        {
            "image_processor_type": "LlavaImageProcessor",
            "processor_class": "LlavaProcessor",
            "size": {"shortest_edge": 224},
            "crop_size": {"height": 224, "width": 224},
            "do_pad": True,
        },
    )
    profile = get_profile(tmp_path)
    assert profile.resize == FixedSize(shortest_edge=224, crop=224, pad_to_square=True)
    assert profile.plan_image(500, 500).tokens == 16 * 16  # 224/14 = 16 per side


def test_folder_without_configs_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"no config\.json"):
        get_profile(tmp_path)


def test_unknown_family_folder_is_refused(tmp_path):
    _write(tmp_path, "config.json", {"model_type": "bert"})
    with pytest.raises(ConfigError, match="cannot tell the model family"):
        get_profile(tmp_path)


def test_malformed_json_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        get_profile(tmp_path)


# --- names are labels -----------------------------------------------------------------------


def _rename_request() -> dict:
    from tests.images import encode as encode_image
    from tests.images import random_image

    png = encode_image(random_image(90, 60), "PNG")
    return {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi there"},
                    {"type": "image", "data": png},
                    {"type": "text", "text": "and this?"},
                ],
            },
            {"role": "assistant", "content": "A picture."},
            {"role": "user", "content": [{"type": "image", "data": png}]},
        ],
        "labels": True,
    }


@pytest.mark.parametrize(
    "name", sorted(n for n, p in PROFILES.items() if "image" in p.modalities)
)  # the request below holds images; audio-only profiles (qwen2-audio, voxtral) refuse it
def test_a_renamed_profile_behaves_exactly_like_the_original(name):
    """Issue 13: renaming qwen2-vl switched its chat template (101 → 89 tokens)."""
    import warnings

    import numpy as np

    from mmtok.budget.plan import plan_request
    from mmtok.fusion import count_request, encode, parse_request, resolve_tokenizer
    from mmtok.text.templates import render, template_for

    original = PROFILES[name]
    renamed = dataclasses.replace(original, name="renamed-x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = resolve_tokenizer(original)
        assert resolve_tokenizer(renamed).specials == tok.specials
    request = parse_request(_rename_request())
    assert template_for(renamed) == template_for(original)
    assert render(request, template_for(renamed)) == render(request, template_for(original))
    a, b = count_request(request, original, tok), count_request(request, renamed, tok)
    assert (a.total, a.text, a.parts) == (b.total, b.text, b.parts)
    x, y = encode(request, original, tok), encode(request, renamed, tok)
    assert np.array_equal(x.input_ids, y.input_ids)
    assert np.array_equal(x.position_ids, y.position_ids)
    assert np.array_equal(x.modality_ids, y.modality_ids)
    assert x.spans == y.spans and x.rope_delta == y.rope_delta
    p, q = (plan_request(request, prof, tok, context=200_000) for prof in (original, renamed))
    assert (p.cost, p.llm, p.input_tokens) == (q.cost, q.llm, q.input_tokens)
    assert p.cost.vision_flops > 0


def _name_lookups(tree: ast.AST) -> list[tuple[int, str]]:
    """``<profile>.name`` used other than as a label: compared, used as a key or looked up,
    tested for truth, matched (``match profile.name:``), or parsed (``.name.split("@")``,
    ``.name.startswith``). The profile may be reached through a call (``as_profile(x).name``)."""
    profile_like = re.compile(r"(^|[._])(profile|prof|base|own|p)(\(.*\))?$")
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "name"):
            continue
        if not profile_like.search(ast.unparse(node.value)):
            continue
        parent = parents.get(node)
        looked_up = (
            isinstance(parent, ast.Compare | ast.Attribute | ast.BoolOp | ast.If | ast.IfExp)
            or (isinstance(parent, ast.Subscript) and parent.slice is node)
            or (isinstance(parent, ast.Match) and parent.subject is node)
            or (
                isinstance(parent, ast.Call)
                and node in parent.args
                and isinstance(parent.func, ast.Attribute)
                and parent.func.attr in {"get", "pop", "setdefault"}
            )
        )
        if looked_up:
            found.append((node.lineno, ast.unparse(parent)))
    return found


def test_the_lookup_finder_catches_the_old_branches():
    old = (
        "spec = VISION_PRESETS.get(profile.name.split('@')[0])\n"
        "if merge and base.name != 'llava-1.5': pass\n"
        "t = TEMPLATES[profile.name]\n"
        "ok = f'{profile.name}: fine'\n"
        "row = {'profile': profile.name}\n"
        "if profile.name == 'qwen2-vl': pass\n"
        "if 'qwen' in own.name: pass\n"
        "if item.profile.name.startswith('qwen'): pass\n"
        "fast = profile.name in {'pixtral', 'mistral3'}\n"
        "ok = as_profile(x).name != 'generic'\n"
        "match p.name:\n"
        "    case 'gemma3': pass\n"
        "n = len(profile.name)\n"
    )
    found = sorted(line for line, _ in _name_lookups(ast.parse(old)))
    assert found == [1, 2, 3, 6, 7, 8, 9, 10, 11]


def test_no_source_file_branches_on_a_profile_name():
    root = Path(mmtok.__file__).parent
    found = [
        f"{path.relative_to(root)}:{line}: {code}"
        for path in sorted(root.rglob("*.py"))
        for line, code in _name_lookups(ast.parse(path.read_text()))
    ]
    assert not found, found


# --- rules read from a model folder -----------------------------------------------------------


def test_a_qwen_folder_costs_its_own_dimensions(tmp_path):
    from transformers import Qwen2VLConfig

    Qwen2VLConfig(
        text_config={
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "vocab_size": 1000,
        },
        vision_config={"depth": 3, "embed_dim": 32, "mlp_ratio": 4, "num_heads": 4},
    ).save_pretrained(tmp_path)
    profile = get_profile(tmp_path)
    llm, vision = profile.llm, profile.vision
    # head_dim is not written for Qwen2-VL's text model: hidden / heads = 64 / 4.
    assert (llm.layers, llm.hidden, llm.heads, llm.kv_heads, llm.head_dim) == (2, 64, 4, 2, 16)
    assert (llm.intermediate, llm.vocab, llm.mlp_matrices) == (128, 1000, 3)
    # Qwen2-VL's tower: depth × embed_dim, MLP width embed_dim · mlp_ratio (its hidden_size is
    # the LLM's width, not the tower's).
    assert (vision.layers, vision.hidden, vision.intermediate) == (3, 32, 128)
    assert vision.mlp_matrices == get_profile("qwen2-vl").vision.mlp_matrices
    assert profile.template == get_profile("qwen2-vl").template
    assert profile.merge_size == 2


def test_a_llava_folder_costs_its_own_dimensions(tmp_path):
    from transformers import LlavaConfig

    LlavaConfig(
        text_config={
            "model_type": "llama",
            "hidden_size": 96,
            "num_hidden_layers": 3,
            "num_attention_heads": 6,
            "num_key_value_heads": 3,
            "intermediate_size": 200,
            "vocab_size": 500,
        },
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 48,
            "num_hidden_layers": 2,
            "intermediate_size": 80,
            "num_attention_heads": 4,
        },
    ).save_pretrained(tmp_path)
    profile = get_profile(tmp_path)
    llm, vision = profile.llm, profile.vision
    assert (llm.layers, llm.hidden, llm.heads, llm.kv_heads, llm.head_dim) == (3, 96, 6, 3, 16)
    assert (llm.intermediate, llm.vocab) == (200, 500)
    assert (vision.layers, vision.hidden, vision.intermediate) == (2, 48, 80)
    assert profile.template == get_profile("llava-1.5").template


def test_a_folder_keeps_the_family_preset_for_keys_it_lacks(tmp_path):
    # llava-hf/llava-1.5-7b-hf states only what differs from LlamaConfig: its vocabulary.
    _write(
        tmp_path,
        "config.json",
        {"model_type": "llava", "text_config": {"model_type": "llama", "vocab_size": 32064}},
    )
    profile = get_profile(tmp_path)
    base = get_profile("llava-1.5")
    assert profile.llm == dataclasses.replace(base.llm, vocab=32064, name=tmp_path.name)
    assert profile.vision == base.vision


def test_a_folder_without_dimensions_keeps_the_presets(tmp_path):
    _write(tmp_path, "config.json", {"model_type": "qwen2_5_vl"})
    profile, base = get_profile(tmp_path), get_profile("qwen2.5-vl")
    assert (profile.llm, profile.vision) == (base.llm, base.vision)


def test_llava_ignores_a_folders_merge_size(tmp_path):
    _write(tmp_path, "config.json", {"model_type": "llava", "spatial_merge_size": 2})
    assert get_profile(tmp_path).merge_size == 1
    assert get_profile(tmp_path).plan_image(500, 500).tokens == 576


def test_a_non_integer_dimension_is_refused_naming_the_key(tmp_path):
    _write(
        tmp_path,
        "config.json",
        {"model_type": "qwen2_vl", "text_config": {"num_hidden_layers": "many"}},
    )
    with pytest.raises(ConfigError, match=r"config\.json: num_hidden_layers must be an integer"):
        get_profile(tmp_path)


# --- feature tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_feature_tokens_are_the_image_placeholders_of_the_expansion(name):
    from mmtok.fusion.layout import Modality, image_segment

    profile = get_profile(name)
    ids = {role: i for i, role in enumerate(profile.tokens.names())}
    for height, width in ((700, 1000), (33, 900), (1500, 400)):
        plan = profile.plan_image(height, width)
        # Layouts that write text inside an image (Gemma 3's views) tokenize it with ``encode``.
        segment = image_segment(plan, profile, ids, 0, encode=lambda text, **_: [0] * len(text))
        assert plan.feature_tokens == int((segment.modality == Modality.IMAGE).sum())


def test_mistral3_feature_tokens_leave_out_breaks_and_end():
    # 1000×700 fits 1540: 700/28 = 25 rows, ⌈1000/28⌉ = 36 columns, each row + 1 break/end.
    plan = get_profile("mistral3").plan_image(700, 1000)
    assert (plan.token_grid, plan.tokens, plan.feature_tokens) == ((25, 36), 925, 900)


def test_count_and_plan_json_carry_feature_tokens(tmp_path):
    from mmtok.budget.plan import plan_request
    from mmtok.count import count_file
    from tests.images import encode as encode_image
    from tests.images import random_image

    path = tmp_path / "a.png"
    path.write_bytes(encode_image(random_image(1000, 700), "PNG"))
    row = count_file(path, "mistral3").to_json()
    assert (row["tokens"], row["feature_tokens"]) == (925, 900)
    request = {"messages": [{"role": "user", "content": [{"type": "image", "image": str(path)}]}]}
    plan = plan_request(request, "mistral3", context=4096).to_json()
    image = next(i for i in plan["items"] if i["kind"] == "image")
    assert (image["tokens"], image["feature_tokens"]) == (925, 900)
