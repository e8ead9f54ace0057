"""``mmtok count`` on video and audio: header-only rows with the documented keys."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

import mmtok.cli.count  # noqa: F401
from mmtok.cli.app import app
from mmtok.count import CountOptions, count_file
from mmtok.profiles import get_profile
from tests.media_factory import gradient_frame, tone, write_sound, write_video

runner = CliRunner()


def test_video_row_follows_the_fps_rule(tmp_path):
    # 4 s at 30 fps = 120 frames; 2 fps → 8 frames: indices ⌊i·120/8⌋ = 0, 15, …, 105.
    path = write_video(tmp_path / "v.mp4", gradient_frame(64, 48), 120, fps=30)
    row = count_file(path, get_profile("qwen2-vl"))
    assert row.error is None and row.kind == "video"
    assert row.extra["sampled_frames"] == [0, 15, 30, 45, 60, 75, 90, 105]
    assert row.extra["timestamps"] == [i / 30 for i in row.extra["sampled_frames"]]
    # 48×64 rounds to 56×56 = 3,136 px, below the video minimum 128·28² = 100,352: scaled by
    # sqrt(100352/3072) = 5.715 → ceil(274.3/28)·28 = 280, ceil(365.8/28)·28 = 392
    # → 20×28 patches, 8 frames in 4 temporal patches of 2.
    assert row.resized == [280, 392] and row.grid == [4, 20, 28]
    assert row.tokens == 4 * (20 * 28 // 4)
    assert row.extra["decoded"] == "header"


def test_uniform_sampling_option(tmp_path):
    path = write_video(tmp_path / "v.mp4", gradient_frame(64, 48), 60, fps=30)
    row = count_file(path, get_profile("qwen2-vl"), CountOptions(sampling="uniform", num_frames=4))
    assert row.extra["sampled_frames"] == [0, 15, 30, 45]


def test_audio_row_and_profile_without_audio(tmp_path):
    path = write_sound(tmp_path / "a.wav", tone(2.0), 16000)
    row = count_file(path, get_profile("generic"))
    # 2 s → 200 mel frames → 100 after the stride-2 conv → 50 after pooling, + 2 fences.
    assert row.tokens == 52 and row.extra["sample_rate"] == 16000
    assert row.extra["duration"] == 2.0
    refused = count_file(path, get_profile("qwen2-vl"))
    assert refused.tokens is None and "does not accept audio" in refused.error


def test_duration_limit(tmp_path):
    path = write_sound(tmp_path / "long.wav", np.zeros(16000 * 5, np.float32), 16000)
    row = count_file(path, get_profile("generic"), CountOptions(max_duration=1.0))
    assert row.tokens is None and "long.wav" in row.error


def test_cli_json_keys_for_time_media(tmp_path):
    video = write_video(tmp_path / "v.mp4", gradient_frame(64, 48), 60, fps=30)
    audio = write_sound(tmp_path / "a.wav", tone(1.0), 16000)
    result = runner.invoke(
        app, ["count", "--profile", "generic", "--json", "--fps", "1", str(video), str(audio)]
    )
    assert result.exit_code == 0, result.output
    v, a = json.loads(result.stdout)
    assert {"duration", "fps", "sampled_frames", "timestamps"} <= set(v)
    assert {"duration", "sample_rate"} <= set(a)
    # 2 s at 1 fps = 2 frames, below min_frames 4 → 4 frames (generic: temporal patch 1).
    assert len(v["sampled_frames"]) == 4


def test_video_row_counts_timestamp_texts_as_the_sequence_does(tmp_path):
    """Families that write a timestamp text per frame (generic's ``<t=…s>``) count it in the row
    exactly as the planned sequence expands the same video."""
    import warnings

    from mmtok.count import count_file
    from mmtok.fusion import TokenizerFallbackWarning, plan_sequence, resolve_tokenizer
    from mmtok.profiles import get_profile
    from tests.parity import fusion_references as fref

    clip = tmp_path / "clip.mp4"
    fref.write_video(clip, 16, (64, 48), 8)
    profile = get_profile("generic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TokenizerFallbackWarning)
        tok = resolve_tokenizer(profile)
    content = [{"type": "video", "path": str(clip)}]
    plan = plan_sequence({"messages": [{"role": "user", "content": content}]}, profile, tok)
    row = count_file(clip, profile)
    assert row.tokens == plan.count().parts[0].tokens
