"""A seeded mutation fuzzer over request JSON: valid seeds, mutations, and one checked case.

Seeds are valid requests of every form (prompt + media, chat messages, OpenAI parts, video,
audio, per-item options) over small generated media. Mutations change one thing, drawn from
a seed: a value's type, a per-item option's size (``1e40``, ``10**12``, ``inf``, negative),
a string (NUL, lone surrogates, escaping and special paths, remote and malformed URLs, a
megabyte of text), the nesting (thousands of levels of JSON), the keys (one removed, one
unknown), or the length (thousands of parts or messages). A case loads the JSON text
(:func:`mmtok.fusion.request.load_request`), counts it, plans it and encodes it, and passes
when every step succeeds or raises an ``MmtokError`` with a one-line message, within a time
bound. Used by ``tests/test_fuzz_requests.py`` and ``bench/fuzz.py``.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.fuzz import CaseTimeout, Outcome, sample, time_limit

PROFILE = "generic"  # takes image, video and audio; dynamic resolution (min/max_pixels)
_IMAGE = {"type": "image", "path": "a.png"}
SEEDS: tuple[dict[str, Any], ...] = (
    {"prompt": "Describe <image> briefly.", "media": [_IMAGE]},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is it?"}, _IMAGE]},
        ]
    },
    {"prompt": "<image><video>", "media": [{**_IMAGE, "max_pixels": 50_176},
                                           {"type": "video", "path": "v.mp4", "fps": 2.0}]},
    {"prompt": "Listen: <audio>", "media": [{"type": "audio", "path": "s.wav"}]},
    {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "file://{root}/a.png"}},
                    {"type": "text", "text": "and"},
                    {"type": "video_url", "video_url": {"url": "v.mp4"}, "max_frames": 4},
                ],
            }
        ],
        "labels": True,
    },
)  # fmt: skip

HUGE_NUMBERS: tuple[Any, ...] = (
    1e40, 10**12, 10**30, 2**63, -1, 0, 0.5, 1e308, float("inf"), float("nan"), 10**8, 99_999,
)  # fmt: skip
ODD_STRINGS: tuple[str, ...] = (
    "a\x00b.png", "a\ud800.png", "\udcff", "../../etc/passwd", "/etc/passwd", "/dev/zero",
    "/dev/stdin", "/proc/self/status", "fifo", ".", "/", "", "file:///etc/shadow",
    "file://host/a.png", "http://example.com/a.png", "data:image/png;base64,!!!!",
    "data:,", "data:image/png;base64,iVBORw0KGgo=", "<image><video><audio>", "\u202ea.png",
    "x" * 100_000, "word " * 200_000, "a.png" * 1000,
)  # fmt: skip
ODD_VALUES: tuple[Any, ...] = (None, True, 7, -3.5, "text", [], [1, [2]], {}, {"type": "x"})
OPTIONS = ("min_pixels", "max_pixels", "fps", "max_frames", "max_image_size")
MUTATIONS = ("type", "number", "string", "nest", "keys", "many")


def write_media(folder: Path) -> None:
    """``a.png``, ``v.mp4``, ``s.wav`` (the fuzzer's media samples) and a FIFO ``fifo``."""
    for name, fmt in (("a.png", "png"), ("v.mp4", "mp4"), ("s.wav", "wav")):
        (folder / name).write_bytes(sample(fmt))
    if not (folder / "fifo").exists():
        os.mkfifo(folder / "fifo")


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every location in a JSON tree (the root excluded), depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, dict | list):
            yield from _slots(value, (*path, key))


def _put(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _pick(rng: np.random.Generator, options: tuple[Any, ...] | list[Any]) -> Any:
    return options[int(rng.integers(0, len(options)))]


def mutate(kind: str, seed: int, root: Path) -> str:
    """The JSON text of a seed request changed by the mutation ``kind``; deterministic."""
    rng = np.random.default_rng(seed)
    text = json.dumps(SEEDS[int(rng.integers(0, len(SEEDS)))]).replace("{root}", str(root))
    tree = json.loads(text)
    slots = list(_slots(tree))
    media = [s for s in slots if isinstance(_get(tree, s), dict) and "type" in _get(tree, s)]
    if kind == "type":
        _put(tree, _pick(rng, slots), copy.deepcopy(_pick(rng, ODD_VALUES)))
    elif kind == "number":
        part = _get(tree, _pick(rng, media))
        part[_pick(rng, OPTIONS)] = _pick(rng, HUGE_NUMBERS)
    elif kind == "string":
        strings = [s for s in slots if isinstance(_get(tree, s), str)]
        _put(tree, _pick(rng, strings), _pick(rng, ODD_STRINGS))
    elif kind == "nest":  # deep JSON nesting, as text: json.loads itself would recurse
        depth = int(_pick(rng, (10, 1_000, 100_000)))
        bracket = _pick(rng, ("[]", "{}"))
        body = bracket[0] + '"k": ' if bracket == "{}" else "["
        deep = (body * depth) + "1" + (bracket[1] * depth)
        path = _pick(rng, slots)
        _put(tree, path, "@DEEP@")
        return json.dumps(tree).replace('"@DEEP@"', deep)
    elif kind == "keys":
        path = _pick(rng, slots)
        if rng.random() < 0.5 and isinstance(path[-1], str):
            del _get(tree, path[:-1])[path[-1]]
        else:
            target = _get(tree, _pick(rng, media)) if media else tree
            target[_pick(rng, ("extra", "type", "path", "role", "data", "url"))] = "?"
    elif kind == "many":  # thousands of messages, parts or words: work must stay linear
        n = int(_pick(rng, (1_000, 5_000)))
        turn = {"role": "user", "content": [{"type": "text", "text": "hi"}, _IMAGE]}
        what = _pick(rng, ("messages", "parts", "words"))
        if what == "messages":
            tree = {"messages": [turn] * (n // 5)}  # an image in each: planned n/5 times
        elif what == "parts":
            tree = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}] * n}]}
        else:
            tree = {"prompt": "many words " * (n * 100)}
    else:
        raise ValueError(kind)
    return json.dumps(tree)


def exercise(path: Path) -> None:
    """Load, count, plan and encode one request file; raises whatever mmtok raises."""
    from mmtok.fusion import count_request, encode, load_request, plan_sequence

    request = load_request(path)
    count_request(request, PROFILE)
    plan_sequence(request, PROFILE)
    encode(request, PROFILE)


def run_case(name: str, text: str, folder: Path, *, limit_s: float = 10.0) -> Outcome:
    """Write ``text`` as ``folder/request.json``, run :func:`exercise` under a ``limit_s``
    bound and classify: ``ok``, ``typed`` (an ``MmtokError``, one line) or ``bad``."""
    import warnings

    from mmtok.errors import MmtokError

    path = folder / "request.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    start = time.perf_counter()
    try:
        with time_limit(limit_s), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exercise(path)
        result, error = "ok", ""
    except CaseTimeout as exc:
        result, error = "bad", f"timeout {exc}"
    except MmtokError as exc:
        message = str(exc)
        result = "typed" if "\n" not in message else "bad"
        error = message[:300] if result == "typed" else f"badly worded: {message[:300]!r}"
    except Exception as exc:  # the point of the fuzzer: anything else is a finding
        result, error = "bad", f"{type(exc).__name__}: {str(exc)[:300]}"
    return Outcome(name, result, error, time.perf_counter() - start)


def cases(
    per_mutation: int, seed: int, root: Path, kinds: tuple[str, ...] = MUTATIONS
) -> Iterator[tuple[str, str]]:
    """``per_mutation`` mutants for each of ``kinds``; names ``request/kind/seed``."""
    for kind in kinds:
        for k in range(per_mutation):
            case_seed = seed * 1_000_003 + k
            yield f"request/{kind}/{case_seed}", mutate(kind, case_seed, root)
