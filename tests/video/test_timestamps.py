"""Per-patch timestamp texts of the three styles, on times worked out by hand."""

from __future__ import annotations

from mmtok.video.timestamps import TimestampStyle, timestamp_texts

QWEN3 = TimestampStyle(template="<{:.1f} seconds>", time="mean")
GLM = TimestampStyle(template="{}", time="whole", after=True)


def test_first_frame_of_each_patch():
    assert timestamp_texts(TimestampStyle(), [0.0, 0.5, 1.0], 2) == ("<t=0.0s>", "<t=1.0s>")


def test_mean_of_first_and_last_frame_last_repeated():
    # patches (0, 1.0) → 0.5 and (2.25, 2.25 repeated) → 2.25 → "2.2" (half to even)
    assert timestamp_texts(QWEN3, [0.0, 1.0, 2.25], 2) == ("<0.5 seconds>", "<2.2 seconds>")


def test_whole_seconds_truncate():
    assert timestamp_texts(GLM, [0.0, 0.5, 1.9, 2.4, 3.99], 2) == ("0", "1", "3")


def test_no_frames_no_texts():
    assert timestamp_texts(QWEN3, [], 2) == ()
