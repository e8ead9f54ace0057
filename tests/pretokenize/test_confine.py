"""Dataset media paths stay inside the dataset folder (``mmtok.pretokenize.source``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mmtok.pretokenize.source import Slice, confine_media, cursors, read_slice
from tests.pretokenize_data import write_jsonl


def _rows(path: Path):
    cs = list(cursors(path))
    return read_slice(Slice(str(path), cs[0], len(cs)))


def _image(path: object) -> str:
    return json.dumps({"prompt": "<image>", "media": [{"type": "image", "path": path}]})


def test_escaping_paths_are_row_errors_worded_alike(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    (data / "img" / "a.png").write_bytes(b"x")
    (tmp_path / "secret.png").write_bytes(b"x")
    os.symlink(tmp_path / "secret.png", data / "link.png")
    rows = _rows(
        write_jsonl(
            data / "rows.jsonl",
            [
                _image("img/a.png"),
                _image("../secret.png"),  # exists outside
                _image("../missing.png"),  # does not exist outside
                _image(str(tmp_path / "secret.png")),  # absolute
                _image("/etc/passwd"),
                _image("link.png"),  # a symlink out of the folder
                _image("img/../img/a.png"),
            ],
        )
    )
    assert rows[0].error is None
    assert rows[0].request["media"][0]["path"] == str((data / "img" / "a.png").resolve())
    for row, shown in zip(
        rows[1:6],
        [
            "../secret.png",
            "../missing.png",
            str(tmp_path / "secret.png"),
            "/etc/passwd",
            "link.png",
        ],
        strict=True,
    ):
        assert row.request is None
        assert (
            row.error
            == f"rows.jsonl:{row.id}: media path {shown!r} is not inside the dataset folder"
        )
    assert rows[6].error is None


def test_chat_parts_aliases_and_odd_values(tmp_path: Path) -> None:
    request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "../not/a/path"},
                    {"type": "video", "video": "clip.mp4"},
                    {"type": "audio", "url": "../../x.wav"},
                ],
            },
        ]
    }
    assert (
        confine_media(request, tmp_path)
        == "media path '../../x.wav' is not inside the dataset folder"
    )
    content = request["messages"][0]["content"]
    assert content[0]["text"] == "../not/a/path"  # text is never a path
    assert content[1]["video"] == str((tmp_path / "clip.mp4").resolve())
    odd = {"media": [{"type": "image", "path": 7}, {"type": "image", "url": "https://x/y.png"}]}
    assert confine_media(odd, tmp_path) is None  # left for the request schema to refuse
    assert "not inside" in confine_media({"media": [{"type": "image", "path": "a\0b"}]}, tmp_path)
    bad = confine_media({"media": [{"type": "image", "path": "\ud800.png"}]}, tmp_path)
    assert bad is None or "cannot be used" in bad
