"""The audio profiles' layouts, counts and model-input keys (derived by hand from the rules
in their modules' docstrings), codec count rows and the density comparison."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import mmtok.cli.count  # noqa: F401  (registers the command)
from mmtok.audio.plan import plan_audio
from mmtok.budget.density import audio_density, compare_density
from mmtok.cli.app import app
from mmtok.count import count_codec_file
from mmtok.fusion.layout import Modality
from mmtok.fusion.plan import plan_sequence
from mmtok.profiles import get_profile
from tests.media_factory import speechlike, write_sound


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ap") / "clip.wav"
    return write_sound(path, speechlike(61.3), 16_000)


@pytest.mark.parametrize(
    ("name", "seconds", "runs"),
    [
        ("qwen2-audio", 61.3, (750,)),  # truncated at 30 s: 3,000 frames → 1,500 → 750
        ("qwen2.5-omni", 61.3, (1532,)),  # one 300 s window: 6,130 frames → 3,065 → 1,532
        ("voxtral", 30.01, (750,)),  # padded to 2 windows × 375, one [BEGIN_AUDIO]
        ("gemma3n", 0.3, (188,)),  # fixed
    ],
)
def test_audio_rules(name: str, seconds: float, runs: tuple[int, ...]) -> None:
    assert plan_audio(round(seconds * 16_000), get_profile(name)).runs == runs


def _request(path: Path) -> dict:
    content = [{"type": "audio", "path": str(path)}, {"type": "text", "text": "What?"}]
    return {"messages": [{"role": "user", "content": content}]}


@pytest.mark.parametrize(
    ("name", "audio", "before", "after"),
    [
        ("qwen2-audio", 750, "<|audio_bos|>", "<|audio_eos|>"),
        ("voxtral", 1125, "[BEGIN_AUDIO]", None),
        ("gemma3n", 188, "<start_of_audio>", "<end_of_audio>"),
        ("qwen2.5-omni", 1532, "<|audio_bos|>", "<|audio_eos|>"),
    ],
)
def test_audio_sequence(clip: Path, name: str, audio: int, before: str, after: str | None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_sequence(_request(clip), name)
    runs = np.flatnonzero(plan.modality_ids == Modality.AUDIO)
    assert len(runs) == audio and np.all(np.diff(runs) == 1)
    ids = plan.special_tokens
    assert plan.input_ids[runs[0] - 1] == ids[before]
    if after is not None:
        assert plan.input_ids[runs[-1] + 1] == ids[after]


def test_omni_text_after_audio_continues_from_the_largest_position(clip: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_sequence(_request(clip), "qwen2.5-omni")
    # Audio advances like text: every axis 0 … L-1, no delta.
    assert plan.position_ids.shape == (3, len(plan.input_ids))
    assert np.array_equal(plan.position_ids[0], np.arange(len(plan.input_ids)))
    assert plan.rope_delta == 0


def test_codec_rows_and_cli(clip: Path, tmp_path: Path) -> None:
    from mmtok.discrete.audio_codecs import read_codec

    folder = tmp_path / "encodec"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "encodec"}))
    row = count_codec_file(clip, read_codec(folder, bandwidth=6.0))
    # 61.3 s at 16 kHz → 1,471,200 samples at 24 kHz → ⌈/320⌉ = 4,598 frames × 8 codebooks.
    assert (row.extra["frames"], row.extra["codebooks"], row.tokens) == (4598, 8, 36784)
    assert row.extra["bitrate"] == 6000.0
    out = CliRunner().invoke(
        app, ["count", str(clip), "--profile", str(folder), "--codebooks", "4", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)[0]["tokens"] == 4598 * 4
    bad = CliRunner().invoke(app, ["count", str(clip), "--bandwidth", "6"])
    assert bad.exit_code == 2


def test_density_rates() -> None:
    by_name = {r.profile: r for r in compare_density(["qwen2-audio", "voxtral", "gemma3n"])}
    assert by_name["qwen2-audio"].audio == pytest.approx(752 / 30)  # 750 + 2 fences
    assert by_name["voxtral"].audio == pytest.approx(376 / 30)  # 375 + [BEGIN_AUDIO]
    assert by_name["gemma3n"].image == 258 and by_name["gemma3n"].audio == pytest.approx(190 / 30)
    assert [r.tokens for r in audio_density("qwen2-audio", (30.0, 60.0))] == [752, 752]
