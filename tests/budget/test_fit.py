"""``mmtok plan --fit`` on families without a pixel budget: the detail knob (pan-and-scan off,
fewer tiles) shrinks them before any item is dropped; per-item ``max_tiles`` and
``do_pan_and_scan`` options."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mmtok.cli.plan  # noqa: F401  (registers the command)
from mmtok.cli.app import app
from mmtok.errors import RequestError
from mmtok.fusion.plan import count_request
from mmtok.fusion.request import parse_request
from tests.images import png_claiming

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")


def _request(tmp_path, sizes, **options) -> str:
    content: list[dict] = [{"type": "text", "text": "Compare these."}]
    for i, (w, h) in enumerate(sizes):
        (tmp_path / f"{i}.png").write_bytes(png_claiming(w, h))
        content.append({"type": "image", "path": f"{i}.png", **options})
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": content}]}))
    return str(path)


def _plan(req: str, profile: str, context: int, *fit: str) -> dict:
    args = ["plan", req, "--profile", profile, "--context", str(context)]
    result = runner.invoke(app, [*args, "--reserve-output", "0", "--json", *fit])
    return json.loads(result.stdout)


def _images(plan: dict) -> list[dict]:
    return [i for i in plan["items"] if i["kind"] == "image"]


def test_gemma3_turns_pan_and_scan_off_before_dropping(tmp_path):
    req = _request(tmp_path, [(1600, 400), (1200, 300)], do_pan_and_scan=True)
    before = _plan(req, "gemma3", 100_000)
    assert all(i["tokens"] > 258 for i in _images(before))  # ratio 4: crops after the view
    fitted = _plan(req, "gemma3", before["input_tokens"] - 1, "--fit")
    assert fitted["fits"] and not any(i["dropped"] for i in fitted["items"])
    for item in _images(fitted):  # one 896² view: 256 soft tokens + 2 fences
        assert item["tokens"] == 258 and item["params"]["do_pan_and_scan"] is False


@pytest.mark.parametrize(("profile", "sizes"), [
    ("llama4", [(1600, 1200), (1600, 1200)]),
    ("llava-onevision", [(2000, 1500)]),
])  # fmt: skip
def test_tiled_families_take_the_largest_tile_cap_that_fits(tmp_path, profile, sizes):
    req = _request(tmp_path, sizes)
    before = _plan(req, profile, 100_000)
    budget = before["input_tokens"] * 2 // 3
    fitted = _plan(req, profile, budget, "--fit")
    assert fitted["fits"] and not any(i["dropped"] for i in fitted["items"])
    caps = {i["params"]["max_tiles"] for i in _images(fitted)}
    assert len(caps) == 1  # the same cap on every image: fair
    cap = caps.pop()
    assert fitted["fitted_input_tokens"] <= budget
    # one tile more does not fit: the largest cap that does was taken
    body = json.loads((tmp_path / "request.json").read_text())
    for part in body["messages"][0]["content"][1:]:
        part["max_tiles"] = cap + 1
    request = parse_request(body, base=tmp_path)
    assert count_request(request, profile).total > budget


def test_knob_exhausted_then_items_drop(tmp_path):
    req = _request(tmp_path, [(1600, 1200), (1600, 1200)])
    # a single-tile image is 144 + 3 tokens: 200 holds the text and one, not two
    fitted = _plan(req, "llama4", 200, "--fit")
    assert fitted["fits"] and sum(i["dropped"] for i in fitted["items"]) == 1


@pytest.mark.parametrize(("profile", "option", "match"), [
    ("llama4", {"max_tiles": 17}, "max_tiles must be between 1 and llama4's 16"),
    ("qwen2-vl", {"max_tiles": 2}, "max_tiles applies to tiled profiles"),
    ("llava-next", {"max_tiles": 2}, "max_tiles applies to tiled profiles"),
    ("qwen2-vl", {"do_pan_and_scan": True}, "do_pan_and_scan applies to pan-and-scan"),
    ("internvl3", {"longest_edge": 728}, "longest_edge applies to image-splitting"),
])  # fmt: skip
def test_item_options_without_a_knob_are_refused(tmp_path, profile, option, match):
    _request(tmp_path, [(800, 600)], **option)
    body = json.loads((tmp_path / "request.json").read_text())
    with pytest.raises(RequestError, match=match):
        count_request(parse_request(body, base=tmp_path), profile)


@pytest.mark.parametrize(("profile", "tile"), [("idefics3", 364), ("smolvlm", 384)])
def test_split_families_shrink_the_longest_edge_before_dropping(tmp_path, profile, tile):
    """Idefics3 / SmolVLM: the processor's own ``size.longest_edge``, in whole sub-images
    (4 → 3 → 2 → 1 × the tile), the same on every image, the largest that fits."""
    req = _request(tmp_path, [(2000, 1500), (1500, 2000)])
    before = _plan(req, profile, 100_000)
    budget = before["input_tokens"] * 2 // 3
    fitted = _plan(req, profile, budget, "--fit")
    assert fitted["fits"] and not any(i["dropped"] for i in fitted["items"])
    edges = {i["params"]["longest_edge"] for i in _images(fitted)}
    assert len(edges) == 1
    edge = edges.pop()
    assert edge % tile == 0 and edge < 4 * tile
    body = json.loads((tmp_path / "request.json").read_text())
    for part in body["messages"][0]["content"][1:]:
        part["longest_edge"] = edge + tile
    assert count_request(parse_request(body, base=tmp_path), profile).total > budget


def test_split_family_drops_only_below_one_sub_image(tmp_path):
    """At one view per image (Idefics3: 169 tokens, ``<fake_token_around_image>`` twice and
    ``<global-img>``) the knob is spent: a budget a token short of two such images drops one."""
    req = _request(tmp_path, [(2000, 1500), (2000, 1500)])
    text = _plan(req, "idefics3", 100_000)["items"][0]["tokens"]
    fitted = _plan(req, "idefics3", text + 2 * (169 + 3) - 1, "--fit")
    assert fitted["fits"] and sum(i["dropped"] for i in fitted["items"]) == 1
    kept = [i for i in _images(fitted) if not i["dropped"]]
    assert kept[0]["params"]["longest_edge"] == 364 and kept[0]["tokens"] == 169 + 3
