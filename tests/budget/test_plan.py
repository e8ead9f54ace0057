"""Planner and auto-fit: properties over many random requests, exact lengths, bad input."""

from __future__ import annotations

import warnings
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mmtok.image.decode as image_module
import mmtok.image.pixels as preprocess_module
from mmtok.budget.fit import fit_request
from mmtok.budget.plan import Limits, plan_request
from mmtok.errors import BudgetError, ConfigError
from mmtok.fusion.plan import count_request
from mmtok.fusion.request import parse_request
from mmtok.fusion.tensors import encode
from mmtok.fusion.tokenizer import resolve_tokenizer
from mmtok.profiles import get_profile
from tests.images import encode as encode_image
from tests.images import png_claiming, random_image

FITTABLE = ["qwen2-vl", "qwen2.5-vl", "generic", "pixtral"]
ALL = [*FITTABLE, "llava-1.5", "llava-next"]


@cache
def _tokenizer(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return resolve_tokenizer(get_profile(name))


@pytest.fixture(scope="module")
def header_images(tmp_path_factory):
    """Header-only PNGs (no decodable pixels): planning must never need more."""
    folder = tmp_path_factory.mktemp("headers")

    def make(w: int, h: int):
        path = folder / f"{w}x{h}.png"
        if not path.exists():
            path.write_bytes(png_claiming(w, h))
        return path

    return make


@pytest.fixture(autouse=True)
def _no_decoding(monkeypatch, request):
    """The planner reads headers only: any decode fails the test."""
    if "decodes" in request.keywords:
        return

    def refuse(*args, **kwargs):
        raise AssertionError("the planner decoded media")

    monkeypatch.setattr(image_module, "decode_image", refuse)
    monkeypatch.setattr(preprocess_module, "decode_image", refuse)


def _request(paths, words: int):
    content = [{"type": "text", "text": " ".join(["word"] * words)}]
    content += [{"type": "image", "path": str(p)} for p in paths]
    return parse_request({"messages": [{"role": "user", "content": content}]})


sizes = st.lists(st.tuples(st.integers(28, 3000), st.integers(28, 3000)), min_size=1, max_size=4)


@settings(max_examples=300)
@given(
    name=st.sampled_from(FITTABLE), dims=sizes, words=st.integers(1, 40), frac=st.floats(0.05, 1.5)
)
def test_fitted_plan_never_exceeds_the_budget(header_images, name, dims, words, frac):
    dims = [(w, h) for w, h in dims if max(w, h) / min(w, h) <= 100]
    if not dims:
        return
    profile, tok = get_profile(name), _tokenizer(name)
    request = _request([header_images(w, h) for w, h in dims], words)
    original = count_request(request, profile, tok).total
    budget = max(int(original * frac), 1)
    try:
        result = fit_request(request, profile, tok, budget)
    except BudgetError:
        # Only when the text alone is over budget.
        text_only = request
        for i in range(len(dims)):
            text_only = text_only.with_media(i, drop=True)
        assert count_request(text_only, profile, tok).total > budget
        return
    assert result.count.total <= budget
    assert count_request(result.request, profile, tok).total == result.count.total
    if original <= budget:
        assert result.request == request and not result.changed


@settings(max_examples=1000)
@given(name=st.sampled_from(ALL), dims=sizes, words=st.integers(1, 40), extra=st.integers(0, 5000))
def test_a_request_that_fits_is_left_unchanged(header_images, name, dims, words, extra):
    dims = [(w, h) for w, h in dims if max(w, h) / min(w, h) <= 100]
    if not dims:
        return
    profile, tok = get_profile(name), _tokenizer(name)
    request = _request([header_images(w, h) for w, h in dims], words)
    total = count_request(request, profile, tok).total
    plan = plan_request(
        request, profile, tok, context=total + extra + 1, reserve_output=extra, fit=True
    )
    assert plan.request == request
    assert plan.input_tokens == total and plan.fits
    assert plan.headroom == extra + 1


def test_fit_spreads_the_cut_over_every_image(header_images):
    profile, tok = get_profile("qwen2-vl"), _tokenizer("qwen2-vl")
    request = _request([header_images(1000, 1000), header_images(1000, 1000)], 5)
    before = count_request(request, profile, tok)
    result = fit_request(request, profile, tok, before.total // 2)
    a, b = (p.tokens for p in result.count.parts)
    assert a == b  # same image, same share of the cut
    assert a < before.parts[0].tokens


def test_drop_is_the_last_resort_and_reported(header_images):
    profile, tok = get_profile("llava-1.5"), _tokenizer("llava-1.5")
    request = _request([header_images(500, 500)] * 3, 3)
    total = count_request(request, profile, tok).total
    # LLaVA-1.5 images are always 576 tokens: only dropping can save room.
    plan = plan_request(request, profile, tok, context=total - 576, fit=True)
    assert plan.fits
    assert [i.dropped for i in plan.items if i.kind == "image"] == [False, False, True]
    assert any(s.startswith("drop: 1 item") for s in plan.fit_steps)
    assert any("resolution: fixed" in s for s in plan.fit_steps)


def test_without_fit_an_over_budget_request_is_reported(header_images):
    profile, tok = get_profile("qwen2-vl"), _tokenizer("qwen2-vl")
    request = _request([header_images(2000, 2000)], 3)
    plan = plan_request(request, profile, tok, context=200, reserve_output=50)
    assert not plan.fits
    failed = [c.name for c in plan.checks if not c.passed]
    assert failed == ["headroom for the answer"]


def test_limits_are_checked(header_images):
    profile, tok = get_profile("qwen2-vl"), _tokenizer("qwen2-vl")
    request = _request([header_images(100, 100)] * 3, 3)
    plan = plan_request(request, profile, tok, context=10_000, limits=Limits(max_images=2))
    assert not plan.fits
    assert [c.name for c in plan.checks if not c.passed] == ["image count"]


def test_bad_budgets(header_images):
    profile, tok = get_profile("qwen2-vl"), _tokenizer("qwen2-vl")
    request = _request([header_images(100, 100)], 200)
    with pytest.raises(ConfigError, match="context 800 must exceed reserve_output 900"):
        plan_request(request, profile, tok, context=800, reserve_output=900)
    with pytest.raises(BudgetError, match="the text alone"):
        plan_request(request, profile, tok, context=50, fit=True)
    with pytest.raises(ConfigError, match="unknown fit step"):
        fit_request(request, profile, tok, 10, policy=("resolution", "magic"))


@pytest.mark.parametrize(
    ("accelerator", "message"),
    [
        ({"peak_flops": 0.0}, "peak FLOP/s 0: must be positive"),
        ({"utilisation": 0.0}, "utilisation 0: must be in"),
        ({"utilisation": -0.5}, "utilisation -0.5: must be in"),
        ({"utilisation": 1.5}, "utilisation 1.5: must be in"),
    ],
)
def test_an_impossible_accelerator_is_a_config_error(header_images, accelerator, message):
    """Not a ZeroDivisionError or a negative time to first token."""
    profile, tok = get_profile("qwen2-vl"), _tokenizer("qwen2-vl")
    request = _request([header_images(100, 100)], 3)
    with pytest.raises(ConfigError, match=message):
        plan_request(request, profile, tok, context=10_000, **accelerator)


@pytest.mark.decodes
@pytest.mark.parametrize("name", FITTABLE)
def test_encoded_length_equals_the_fitted_plan(tmp_path, name):
    paths = []
    for i, (w, h) in enumerate([(300, 200), (150, 400), (640, 480)]):
        p = tmp_path / f"{i}.png"
        p.write_bytes(encode_image(random_image(w, h, seed=i), "PNG"))
        paths.append(p)
    profile, tok = get_profile(name), _tokenizer(name)
    request = _request(paths, 10)
    budget = count_request(request, profile, tok).total * 2 // 3
    plan = plan_request(request, profile, tok, context=budget, fit=True)
    assert plan.fits and plan.fitted_input_tokens <= budget
    assert len(encode(plan.request, profile, tok).input_ids) == plan.fitted_input_tokens
