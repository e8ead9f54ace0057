"""Seeded mutation fuzzing: broken and hostile media only ever raise a typed error.

Bit flips, truncations, header overwrites, extreme size fields and spliced stretches over a
small valid file of every format (tests/fuzz.py). Each case runs probe, count and decode
under a time bound and must succeed or raise an ``MmtokError`` whose one-line message starts
with the file's path; audio must decode to exactly the tokens its header counted. A few
hundred cases, a few seconds; ``bench/fuzz.py`` runs thousands and reports.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from mmtok.count import count_file
from mmtok.profiles import get_profile
from tests.fuzz import AUDIO_FORMATS, IMAGE_FORMATS, VIDEO_FORMATS, cases, run_case, sample

# Per-case bound: the slowest well-formed case here takes ~0.1 s.
LIMIT_S = 5.0
PER_FORMAT = {**dict.fromkeys(IMAGE_FORMATS, 60), **dict.fromkeys(AUDIO_FORMATS, 60),
              **dict.fromkeys(VIDEO_FORMATS, 40)}  # fmt: skip


@pytest.mark.parametrize("fmt", IMAGE_FORMATS + VIDEO_FORMATS + AUDIO_FORMATS)
def test_the_unmutated_sample_goes_through(fmt: str, tmp_path: Path) -> None:
    outcome = run_case(fmt, sample(fmt), tmp_path, limit_s=LIMIT_S)
    assert outcome.result == "ok", outcome.error


@pytest.mark.parametrize("fmt", IMAGE_FORMATS + VIDEO_FORMATS + AUDIO_FORMATS)
def test_mutants_raise_only_typed_errors_in_time(fmt: str, tmp_path: Path) -> None:
    results: Counter[str] = Counter()
    bad = []
    for name, data in cases((fmt,), PER_FORMAT[fmt]):
        outcome = run_case(name, data, tmp_path, limit_s=LIMIT_S)
        results[outcome.result] += 1
        if outcome.result == "bad" or outcome.seconds > LIMIT_S:
            bad.append(f"{name}: {outcome.error} ({outcome.seconds:.1f} s)")
    assert not bad, "\n".join(bad)
    assert results["typed"] > 0  # the mutations do break files: the test can fail


def test_count_file_gives_every_mutant_a_row(tmp_path: Path) -> None:
    profile = get_profile("qwen2-vl")
    for fmt in ("png", "mp4", "wav", "mp3"):
        for name, data in cases((fmt,), 10, seed=1):
            path = tmp_path / f"{name.replace('/', '_')}.{fmt}"
            path.write_bytes(data)
            start = time.perf_counter()
            row = count_file(path, profile)
            assert time.perf_counter() - start < LIMIT_S
            assert (row.tokens is None) == (row.error is not None)
            if row.error is not None:
                assert row.error.startswith(f"{path}: ") and "\n" not in row.error
                assert "internal error" not in row.error
