"""Idefics3 (``idefics3``) and SmolVLM / SmolVLM2 (``smolvlm``): counts, ids and pixels equal
transformers 5.24's ``Idefics3Processor`` / ``SmolVLMProcessor`` with their PIL image
processors, loaded from folders written with ``save_pretrained`` in
HuggingFaceM4/Idefics3-8B-Llama3's and HuggingFaceTB/SmolVLM2-2.2B-Instruct's settings; the
same folders read by mmtok as ``--profile FOLDER`` plan the same sequences.

The BPE both sides load merges ``\\n\\n``, so the newline runs the processor writes between
rows of sub-images must be tokenized as it tokenizes them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmtok.count import count_file
from mmtok.fusion.plan import count_request, plan_sequence
from mmtok.fusion.tensors import encode
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import hf_tokenizer
from tests.images import encode as encode_image
from tests.images import png_claiming, random_image
from tests.parity import tiling_references as tr
from tests.parity import wave2_references as w2

FAMILIES = {"idefics3": False, "smolvlm": True}  # name → SmolVLM folder

# Thin panoramas, tiny icons, ordinary photos.
sizes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(200, 3000)),
    st.tuples(st.integers(200, 3000), st.integers(1, 40)),
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(64, 2000), st.integers(64, 2000)),
)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("idefics3")
    out = {}
    for name, smol in FAMILIES.items():
        specials = tr.SMOLVLM_SPECIALS if smol else tr.IDEFICS3_SPECIALS
        tok = w2.write_tokenizer(root / f"{name}.json", specials)
        out[name] = tr.split_folder(root / name, tok, smol=smol)
    return out


@pytest.fixture(scope="module")
def processors(folders):
    return {name: tr.split_processor(folders[name], smol) for name, smol in FAMILIES.items()}


def _request(prompt: str, images) -> dict:
    return {
        "prompt": prompt,
        "media": [{"type": "image", "data": encode_image(im, "PNG")} for im in images],
    }


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(FAMILIES)),
    hw=st.lists(sizes, min_size=1, max_size=2),
    words=st.sampled_from(["", "User:", "what is\n\n"]),
)
def test_ids_equal_processor(folders, processors, name, hw, words):
    images = [random_image(w, h, seed=i) for i, (h, w) in enumerate(hw)]
    text = words + "\n".join(["<image>"] * len(images)) + " what?\n"
    want = processors[name](text=text, images=images, return_tensors="np")
    tok = hf_tokenizer(folders[name] / "tokenizer.json")
    request = _request(text, images)
    for profile in (get_profile(name), get_profile(folders[name])):
        got = plan_sequence(request, profile, tok)
        assert got.input_ids.tolist() == want["input_ids"][0].tolist()
        assert count_request(request, profile, tok).total == want["input_ids"].shape[1]
    image = tok.token_id("<image>")
    assert sum(it.detail.feature_tokens for it in got.items) == int(
        (want["input_ids"][0] == image).sum()
    )
    views = sum(it.detail.grid[0] for it in got.items)
    assert want["pixel_values"].shape[:2] == (1, views)


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(FAMILIES)), hw=sizes)
def test_pixels_equal_processor(processors, name, hw):
    h, w = hw
    image = random_image(w, h, seed=h * 7 + w)
    want = processors[name].image_processor(image, return_tensors="np")
    got = preprocess_image(image, get_profile(name))
    assert got.pixel_values[None].shape == want["pixel_values"].shape
    np.testing.assert_allclose(got.pixel_values[None], want["pixel_values"], atol=1e-5, rtol=0)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(FAMILIES)), hw=sizes, split=st.booleans())
def test_grid_equals_processor(processors, name, hw, split):
    """Rows and columns of sub-images as the processor reports them (with and without
    ``do_image_splitting``), from the size alone."""
    h, w = hw
    proc = processors[name].image_processor
    out = proc(random_image(w, h, seed=1), do_image_splitting=split, return_row_col_info=True)
    rows, cols = out["rows"][0][0], out["cols"][0][0]
    plan = get_profile(name).with_options(split=split).plan_image(h, w)
    tile = plan.resized[0]
    got = (plan.canvas[0] // tile, plan.canvas[1] // tile) if plan.grid[0] > 1 else (0, 0)
    assert got == (rows, cols)
    assert plan.grid[0] == len(out["pixel_values"][0])


def test_12_megapixel_photo(processors):
    row = count_file(png_claiming(4000, 3000), get_profile("idefics3"))  # header only
    # longest edge → 1456×1092, rounded up to 1456×1092 (4×3 sub-images of 364²) + global:
    # 13 × 169 features; 12 × (fake + label) + fake, <global-img>, fake
    assert (row.feature_tokens, row.tokens) == (13 * 169, 13 * 169 + 24 + 3)
    image = random_image(4000, 3000, seed=3)
    want = processors["smolvlm"].image_processor(image, return_tensors="np")
    got = preprocess_image(image, get_profile("smolvlm"))
    np.testing.assert_allclose(got.pixel_values[None], want["pixel_values"], atol=1e-5, rtol=0)


def test_model_inputs(folders):
    tok = hf_tokenizer(folders["smolvlm"] / "tokenizer.json")
    image = random_image(900, 300, seed=1)
    request = _request("<image>hi", [image, image])
    request["prompt"] = "<image><image>hi"
    inputs = encode(request, get_profile("smolvlm"), tok).to_model_inputs()
    assert set(inputs) >= {"input_ids", "attention_mask", "pixel_values", "pixel_attention_mask"}
    # 900×300 → 1536×512: 2 rows × 4 columns of 384² sub-images + the global view, twice
    assert tuple(inputs["pixel_values"].shape) == (1, 18, 3, 384, 384)
    assert tuple(inputs["pixel_attention_mask"].shape) == (1, 18, 384, 384)


def test_counting_decodes_nothing():
    """A PNG that only claims its size (no decodable pixels) is counted from its header."""
    row = count_file(png_claiming(1000, 300), get_profile("idefics3"))
    assert row.error is None
    # 1456×438 (437 made even) → 1456×728: 2×4 sub-images + global
    assert row.feature_tokens == 9 * 169 and row.tokens == 9 * 169 + 16 + 3


def test_readme_example(processors):
    """README's 1000×700 rows."""
    image = random_image(1000, 700, seed=0)
    for name, per_view in (("idefics3", 169), ("smolvlm", 81)):
        want = processors[name](text="<image>", images=[image], return_tensors="np")
        row = count_file(encode_image(image, "PNG"), get_profile(name))
        ids = want["input_ids"][0]
        image_id = processors[name].tokenizer.convert_tokens_to_ids("<image>")
        assert row.feature_tokens == int((ids == image_id).sum()) == 13 * per_view
        # tokens: everything but the newline text between rows (3 rows: "\n", "\n", "\n\n")
        assert row.tokens == 13 * per_view + 12 * 2 + 3


def test_smolvlm_256m_folder_reads_patch_16(tmp_path):
    """A SmolVLM-256M / 500M folder (HuggingFaceTB/SmolVLM-256M-Instruct's settings: 512²
    sub-images, longest edge 2048, ``image_seq_len`` 64, a patch-16 tower with pixel shuffle
    4 in ``config.json``): the patch comes from ``vision_config.patch_size``, and ids equal
    the processor's."""
    tok = w2.write_tokenizer(tmp_path / "smol.json", tr.SMOLVLM_SPECIALS)
    tower = {"image_seq_len": 64, "patch_size": 16, "scale_factor": 4}
    folder = tr.split_folder(
        tmp_path / "smolvlm-256m", tok, smol=True, tower=tower,
        size={"longest_edge": 2048}, max_image_size={"longest_edge": 512},
    )  # fmt: skip
    profile = get_profile(folder)
    assert (profile.patch_size, profile.merge_size) == (16, 4)
    processor = tr.split_processor(folder, smol=True)
    tokens = hf_tokenizer(folder / "tokenizer.json")
    for w, h in ((1000, 700), (37, 1900), (512, 512)):
        image = random_image(w, h, seed=w)
        text = "<image>what?"
        want = processor(text=text, images=[image], return_tensors="np")
        got = plan_sequence(_request(text, [image]), profile, tokens)
        assert got.input_ids.tolist() == want["input_ids"][0].tolist()
        assert got.items[0].detail.feature_tokens % 64 == 0


def test_folder_patch_size_is_checked(tmp_path):
    """A tower whose patch does not tile the sub-image into ``image_seq_len`` tokens is
    refused naming the processor file (config.json's default patch 32 with 81 tokens)."""
    tok = w2.write_tokenizer(tmp_path / "smol.json", tr.SMOLVLM_SPECIALS)
    folder = tr.split_folder(tmp_path / "bad", tok, smol=True, tower={"patch_size": 32})
    with pytest.raises(Exception, match="image_seq_len=81"):
        get_profile(folder)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FAMILIES)), hw=sizes, k=st.integers(1, 4))
def test_longest_edge_option_equals_processor(folders, processors, name, hw, k):
    """The per-item ``longest_edge`` (``--fit``'s knob) is the processor's
    ``size={"longest_edge": N}``."""
    h, w = hw
    image = random_image(w, h, seed=k)
    edge = k * get_profile(name).resize.tile
    want = processors[name](text="<image>hi", images=[image], size={"longest_edge": edge},
                            return_tensors="np")  # fmt: skip
    request = _request("<image>hi", [image])
    request["media"][0]["longest_edge"] = edge
    got = plan_sequence(request, name, hf_tokenizer(folders[name] / "tokenizer.json"))
    assert got.input_ids.tolist() == want["input_ids"][0].tolist()
