"""The request model: both forms, order, relative paths, overrides, and clear errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mmtok.errors import RequestError
from mmtok.fusion.request import (
    AudioPart,
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


# --- OpenAI / vLLM content parts, data and file URLs, the media root ---------------------

PNG = b"\x89PNG\r\n\x1a\n-not-really-a-png-but-bytes"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _chat(*parts: dict) -> dict:
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, *parts]}]}


def test_openai_parts_become_mmtok_parts():
    wav = b"RIFF....WAVEfmt "
    request = parse_request(
        {
            "model": "Qwen/Qwen2-VL-7B-Instruct",
            "id": "chatcmpl-1",
            **_chat(
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{_b64(PNG)}", "detail": "high"},
                    "max_pixels": 50_000,
                    "uuid": "img-1",
                },
                {"type": "video_url", "video_url": {"url": "file:///data/clip%201.mp4"}},
                {"type": "input_audio", "input_audio": {"data": _b64(wav), "format": "wav"}},
                {"type": "audio_url", "audio_url": {"url": "speech.wav"}},
            ),
        }
    )
    image, video, audio, speech = request.media_parts()
    assert isinstance(image, ImagePart) and image.data == PNG and image.path is None
    assert image.max_pixels == 50_000 and image.name == "<bytes>"
    assert isinstance(video, VideoPart) and video.path == Path("/data/clip 1.mp4")
    assert isinstance(audio, AudioPart) and audio.data == wav
    assert isinstance(speech, AudioPart) and speech.path == Path("speech.wav")
    assert request.model == "Qwen/Qwen2-VL-7B-Instruct" and request.id == "chatcmpl-1"
    assert request.locate(2) == "messages[0].content[3]"


def test_openai_string_url_and_prompt_form_media():
    request = parse_request(
        {"prompt": "<image>", "media": [{"type": "image_url", "image_url": "data:,abc%20d"}]}
    )
    assert request.media_parts()[0].data == b"abc d"  # percent-encoded data URL


@pytest.mark.parametrize("key", ["path", "image", "url"])
def test_data_url_in_mmtok_parts(key):
    url = f"data:image/png;charset=x;base64,{_b64(PNG)}"
    part = parse_request(_chat({"type": "image", key: url})).media_parts()[0]
    assert part.data == PNG and part.path is None


def test_relative_and_file_urls_resolve_against_the_media_root(tmp_path):
    (tmp_path / "sub").mkdir()
    paths = [
        p.path
        for p in parse_request(
            _chat(
                {"type": "image", "path": "sub/a.png"},
                {"type": "image_url", "image_url": {"url": f"file://{tmp_path}/b.png"}},
                {"type": "image_url", "image_url": {"url": f"{tmp_path}/sub/../c.png"}},
            ),
            media_root=tmp_path,
        ).media_parts()
    ]
    assert paths == [tmp_path / "sub/a.png", tmp_path / "b.png", tmp_path / "sub/../c.png"]


def test_media_root_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)  # a symlink out of the root is an escape too
    for path in ("../x.png", "/etc/passwd", "link/x.png", "file:///etc/passwd"):
        with pytest.raises(RequestError, match=r"messages\[0\]\.content\[1\].*outside the media"):
            parse_request(_chat({"type": "image", "path": path}), media_root=root)


def test_local_files_can_be_refused():
    with pytest.raises(RequestError, match=r"content\[1\]\.url: 'a\.png' is a local path.*refused"):
        parse_request(
            _chat({"type": "image_url", "image_url": {"url": "a.png"}}), local_files=False
        )
    url = f"data:image/png;base64,{_b64(PNG)}"
    part = parse_request(_chat({"type": "image", "url": url}), local_files=False).media_parts()[0]
    assert part.data == PNG


@pytest.mark.parametrize(
    ("part", "needle"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://x.org/a.png"}},
            "messages[0].content[1].url: 'https://x.org/a.png' is a remote URL; mmtok makes no "
            "network requests",
        ),
        ({"type": "video_url", "video_url": {"url": "s3://bucket/v.mp4"}}, "is a remote URL"),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@@"}},
            "messages[0].content[1]: data: URL is not valid base64",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
            "data: URL holds no bytes",
        ),
        ({"type": "image_url", "image_url": {"url": "data:image/png"}}, "malformed data: URL"),
        ({"type": "image_url", "image_url": {"uri": "a.png"}}, "image_url: unknown key(s) 'uri'"),
        ({"type": "image_url"}, "image_url needs {'url'"),
        ({"type": "video_url", "video_url": 7}, "video_url needs {'url'"),
        (
            {"type": "input_audio", "input_audio": {"data": "!!", "format": "wav"}},
            "input_audio.data is not valid base64",
        ),
        ({"type": "input_audio", "input_audio": "abc"}, "input_audio needs {'data'"),
        (
            {"type": "input_audio", "input_audio": {"data": "AAAA", "rate": 1}},
            "input_audio: unknown key(s) 'rate'",
        ),
        (
            {"type": "image_url", "image_url": {"url": "file://host/a.png"}},
            "a file URL names a local path",
        ),
        (
            {"type": "image_url", "image_url": {"url": "a.png"}, "fps": 2},
            "messages[0].content[1].fps: Extra inputs are not permitted",
        ),
        ({"type": "file", "file": {}}, "unknown part type 'file' (expected text, image, video"),
    ],
)
def test_bad_openai_parts_name_the_part(part, needle):
    with pytest.raises(RequestError) as info:
        parse_request(_chat(part))
    assert needle in str(info.value)
    assert "Input should be a valid string" not in str(info.value)  # the str branch's noise


def test_unknown_top_level_keys_are_still_refused():
    with pytest.raises(RequestError, match="temperature: Extra inputs"):
        parse_request({**_chat(), "temperature": 0.5})


def test_to_body_writes_overrides_and_drops_back_in_the_original_shape():
    url = f"data:image/png;base64,{_b64(PNG)}"
    body = {
        "model": "m",
        "max_tokens": 50,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": "b"},
                    {"type": "video_url", "video_url": {"url": "v.mp4"}},
                ],
            },
        ],
    }
    request = parse_request({k: v for k, v in body.items() if k != "max_tokens"})
    request = request.with_media(0, max_pixels=1000).with_media(1, drop=True)
    out = request.to_body(body)
    assert out["model"] == "m" and out["max_tokens"] == 50
    assert out["messages"][0] == body["messages"][0]
    assert out["messages"][1]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {"url": url}, "max_pixels": 1000},
        {"type": "text", "text": "b"},
    ]
    assert len(body["messages"][1]["content"]) == 4  # the posted body is untouched
    again = parse_request({k: v for k, v in out.items() if k != "max_tokens"})
    assert [(p.type, p.max_pixels, p.data) for p in again.media_parts()] == [("image", 1000, PNG)]


def test_to_body_marks_drops_in_the_prompt_form():
    body = {"prompt": "<image> x <image>", "media": [{"type": "image", "path": "a.png"}] * 2}
    out = parse_request(body).with_media(1, drop=True).to_body(body)
    assert out["prompt"] == body["prompt"]
    assert out["media"] == [
        {"type": "image", "path": "a.png"},
        {"type": "image", "path": "a.png", "drop": True},
    ]
    assert parse_request(out).media_parts()[1].drop
