"""Seeded request fuzzing: mutated request JSON only ever succeeds or raises a typed error.

Types swapped, per-item options made huge (``1e40``, ``10**12``, ``inf``), strings made odd
(NUL, lone surrogates, escaping, special and remote paths, a megabyte of text), JSON nested
100,000 deep, keys dropped or invented, thousands of messages and parts (tests/fuzz_requests.py).
Each case loads, counts, plans and encodes under a time bound; ``bench/fuzz.py`` runs more.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mmtok.errors import RequestError
from mmtok.fusion import count_request, load_request
from tests.fuzz_requests import MUTATIONS, PROFILE, SEEDS, cases, run_case, write_media

LIMIT_S = 10.0  # per case; the slowest here (1,000 images, encoded) takes about 2 s
PER_MUTATION = {**dict.fromkeys(MUTATIONS, 25), "many": 6}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("requests")
    write_media(folder)
    return folder


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_every_seed_request_goes_through(media: Path, index: int) -> None:
    text = json.dumps(SEEDS[index]).replace("{root}", str(media))
    outcome = run_case(f"seed/{index}", text, media, limit_s=LIMIT_S)
    assert outcome.result == "ok", outcome.error


@pytest.mark.parametrize("kind", MUTATIONS)
def test_mutated_requests_raise_only_typed_errors_in_time(media: Path, kind: str) -> None:
    results: Counter[str] = Counter()
    bad = []
    for name, text in cases(PER_MUTATION[kind], 0, media, (kind,)):
        outcome = run_case(name, text, media, limit_s=LIMIT_S)
        results[outcome.result] += 1
        if outcome.result == "bad":
            bad.append(f"{name}: {outcome.error} ({outcome.seconds:.1f} s)")
    assert not bad, "\n".join(bad)
    assert sum(results.values()) == PER_MUTATION[kind]


def test_the_mutations_do_break_requests(media: Path) -> None:
    kinds = tuple(k for k in MUTATIONS if k != "many")
    results = Counter(run_case(n, t, media).result for n, t in cases(4, 3, media, kinds))
    assert results["typed"] >= 2 * len(kinds)  # the mutants do break requests: the test can fail


def _count(media: Path, body: dict | str) -> None:
    path = media / "case.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    count_request(load_request(path), PROFILE)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"prompt": "x", "media": ' + "[" * 100_000 + "]" * 100_000 + "}", "recursion"),
        ({"prompt": "<image>", "media": [{"type": {"a": 1}, "path": "a.png"}]}, "media\\[0\\]"),
        ({"prompt": "<image>", "media": [{"type": "image", "path": "a\x00.png"}]}, "NUL"),
        ({"prompt": "<image>", "media": [{"type": "image", "path": "a\ud800"}]}, "surrogate"),
        ({"prompt": "<image>", "media": [{"type": "image", "path": "a" * 5000}]}, "5,000 bytes"),
        ({"prompt": "<image>", "media": [{"type": "image", "path": 5}]}, "path"),
        ({"prompt": "<image>", "media": [{"type": "image", "path": "a.png", "min_pixels": 1e40}]},
         "min_pixels"),
        ({"prompt": "<video>", "media": [{"type": "video", "path": "v.mp4", "fps": 1e309}]},
         "finite"),
        ({"prompt": "<image>", "media": [{"type": "x" * 10**6, "path": "a.png"}]},
         "unknown part type 'xxx"),
    ],
)  # fmt: skip
def test_hostile_requests_found_by_the_fuzzer_are_typed(media: Path, body, message) -> None:
    with pytest.raises(RequestError, match=message) as info:
        _count(media, body)
    assert "\n" not in str(info.value) and len(str(info.value)) < 1_000


def test_thousands_of_messages_are_planned_once_each(media: Path, monkeypatch) -> None:
    """``Request.locate`` walked every part for each part (5,000 messages: quadratic)."""
    from mmtok.fusion.request import Request

    calls = Counter()
    places = Request._places

    def counted(self):
        calls["walks"] += 1
        return places(self)

    monkeypatch.setattr(Request, "_places", counted)
    turn = {
        "role": "user",
        "content": [{"type": "text", "text": "hi"}, {"type": "image", "path": "a.png"}],
    }
    _count(media, {"messages": [turn] * 2_000})
    assert calls["walks"] <= 2
