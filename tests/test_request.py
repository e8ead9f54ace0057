"""The request model: both forms, order, relative paths, overrides, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmtok.errors import RequestError
from mmtok.fusion.request import (
    ImagePart,
    TextPart,
    VideoPart,
    load_request,
    parse_request,
)

CHAT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image", "path": "a.png", "max_pixels": 50_000},
                {"type": "video", "path": "clip.mp4", "fps": 1.0},
                {"type": "audio", "path": "speech.wav"},
            ],
        },
    ]
}


def test_chat_form_keeps_order_and_overrides():
    request = parse_request(CHAT)
    parts = request.media_parts()
    assert [p.type for p in parts] == ["image", "video", "audio"]
    assert isinstance(parts[0], ImagePart) and parts[0].max_pixels == 50_000
    assert isinstance(parts[1], VideoPart) and parts[1].fps == 1.0
    content = request.messages[1].content
    assert isinstance(content[0], TextPart) and content[0].text == "Describe"
    assert request.messages[0].parts() == [TextPart(text="Be brief.")]


def test_prompt_form():
    request = parse_request(
        {
            "prompt": "<image> then <video>",
            "media": [{"type": "image", "path": "x.png"}, {"type": "video", "path": "y.mp4"}],
        }
    )
    assert [p.type for p in request.media_parts()] == ["image", "video"]
    assert request.locate(1) == "media[1]"


def test_hf_style_alias_and_locate():
    request = parse_request(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "image", "image": "p.png"}],
                }
            ]
        }
    )
    assert request.media_parts()[0].path == Path("p.png")
    assert request.locate(0) == "messages[0].content[1]"


def test_load_request_resolves_paths_against_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    file = tmp_path / "sub" / "req.json"
    file.write_text(json.dumps(CHAT))
    parts = load_request(file).media_parts()
    assert parts[0].path == tmp_path / "sub" / "a.png"
    assert parts[2].path == tmp_path / "sub" / "speech.wav"


def test_absolute_paths_stay(tmp_path):
    data = {"prompt": "<image>", "media": [{"type": "image", "path": "/data/x.png"}]}
    assert parse_request(data, base=tmp_path).media_parts()[0].path == Path("/data/x.png")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a"}, {"type": "gif", "path": "x"}],
                    }
                ]
            },
            "messages[0].content[1]: unknown part type 'gif'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "a"}]}]},
            "messages[0].content[0]: part has no 'type'",
        ),
        (
            {"prompt": "<image> <image>", "media": [{"type": "image", "path": "a.png"}]},
            "2 placeholder(s) (<image>, <image>) but 'media' has 1 item(s)",
        ),
        (
            {"prompt": "<image>", "media": [{"type": "image", "path": "a.png"}] * 3},
            "1 placeholder(s) (<image>) but 'media' has 3 item(s)",
        ),
        (
            {"prompt": "<video>", "media": [{"type": "image", "path": "a.png"}]},
            "media[0]: placeholder 1 in the prompt is <video> but media[0] is an image part",
        ),
        ({"prompt": "x", "messages": [{"role": "user", "content": "x"}]}, "either 'messages'"),
        ({}, "either 'messages'"),
        ({"messages": []}, "'messages' is empty"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "path": "a.png", "max_pixel": 9}],
                    }
                ]
            },
            "max_pixel",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image", "path": "https://x.org/a.png"}]}
                ]
            },
            "remote",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image"}]}]},
            "exactly one of 'path' or 'data'",
        ),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ],
)
def test_bad_requests_name_the_input(data, needle):
    with pytest.raises(RequestError) as info:
        parse_request(data)
    assert needle in str(info.value)


def test_with_media_changes_one_part_and_validates():
    request = parse_request(CHAT)
    smaller = request.with_media(0, max_pixels=20_000)
    assert smaller.media_parts()[0].max_pixels == 20_000
    assert request.media_parts()[0].max_pixels == 50_000  # the original is untouched
    dropped = smaller.with_media(1, drop=True, max_frames=8)
    assert dropped.media_parts()[1].drop and dropped.media_parts()[1].max_frames == 8
    with pytest.raises(RequestError, match=r"media\[0\].*max_pixels"):
        request.with_media(0, max_pixels=-5)
    with pytest.raises(RequestError, match=r"media\[7\]: no such media part \(3 in request\)"):
        request.with_media(7, drop=True)


def test_with_media_in_prompt_form():
    request = parse_request({"prompt": "<image>", "media": [{"type": "image", "data": b"x"}]})
    assert request.with_media(0, drop=True).media_parts()[0].drop


def test_load_request_errors(tmp_path):
    with pytest.raises(RequestError, match="request file not found"):
        load_request(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RequestError, match=r"bad\.json: not a valid JSON request"):
        load_request(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"messages": [{"role": "user", "content": [{"type": "pdf"}]}]}))
    with pytest.raises(RequestError, match=r"wrong.json: .*unknown part type 'pdf'"):
        load_request(wrong)
