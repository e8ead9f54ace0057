"""Reading JSONL, Parquet and folders into rows: ids, bad lines, slices, file checks."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmtok.errors import ConfigError
from mmtok.pretokenize.source import Cursor, Slice, cursors, input_files, read_slice
from tests.pretokenize_data import write_jsonl


def _read(path, prefix=""):
    cs = list(cursors(path))
    return read_slice(Slice(str(path), cs[0], len(cs), prefix)) if cs else []


def test_jsonl_ids_lines_and_bad_rows(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            json.dumps({"id": "first", "prompt": "hi"}),
            "",  # blank: not a row, but line numbers keep counting
            json.dumps({"prompt": "no id"}),
            "{broken",
            json.dumps(["a", "list"]),
            json.dumps({"id": 7, "prompt": "int id"}),
            json.dumps({"id": [1], "prompt": "bad id"}),
            "   ",
        ],
    )
    rows = _read(path)
    assert [r.id for r in rows] == ["first", "3", "4", "5", "7", "7"]
    assert rows[0].request == {"prompt": "hi"}  # the id key is not part of the request
    assert rows[0].base == str(tmp_path) and rows[0].error is None
    assert rows[2].request is None and rows[2].error.startswith("a.jsonl:4: not valid JSON")
    assert "expected a JSON object" in rows[3].error
    assert rows[4].id == "7" and rows[4].request == {"prompt": "int id"}
    assert rows[5].error == "a.jsonl:7: 'id' must be a string or an integer"


def test_invalid_utf8_is_a_row_error(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"prompt": "ok"}\n{"prompt": "\xff\xfe"}\n')
    rows = _read(path)
    assert rows[0].error is None and "not valid JSON" in rows[1].error


def test_every_slice_reads_the_same_rows_as_a_whole_read(tmp_path):
    lines = [json.dumps({"prompt": f"row {i}"}) if i % 4 else "" for i in range(1, 15)]
    path = write_jsonl(tmp_path / "a.jsonl", lines)
    whole = _read(path)
    cs = list(cursors(path))
    assert len(cs) == len(whole) == 11  # 14 lines, 3 blank
    for start in range(len(cs)):
        for n in range(1, len(cs) - start + 1):
            assert read_slice(Slice(str(path), cs[start], n)) == whole[start : start + n]


def test_prefix_goes_before_default_ids_only(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", ['{"prompt": "x"}', '{"id": "k", "prompt": "y"}'])
    assert [r.id for r in _read(path, "a.jsonl:")] == ["a.jsonl:1", "k"]


def test_parquet_request_and_id_columns_across_row_groups(tmp_path):
    texts = [json.dumps({"prompt": f"row {i}"}) for i in range(7)]
    texts[3] = "not json"
    table = pa.table({"id": [f"r{i}" for i in range(7)], "request": texts})
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=3)  # groups of 3, 3, 1
    whole = _read(path)
    assert [r.id for r in whole] == [f"r{i}" for i in range(7)]
    assert whole[0].request == {"prompt": "row 0"}
    assert whole[3].error.startswith("d.parquet:4: not valid JSON")
    cs = list(cursors(path))
    assert cs[4] == Cursor(5, 4)
    for start in range(7):
        for n in range(1, 8 - start):
            assert read_slice(Slice(str(path), cs[start], n)) == whole[start : start + n]


def test_parquet_without_id_column_uses_row_numbers_or_the_json_id(tmp_path):
    path = tmp_path / "d.parquet"
    requests = [json.dumps({"prompt": "a"}), json.dumps({"id": "named", "prompt": "b"}), None]
    pq.write_table(pa.table({"request": pa.array(requests, pa.string())}), path)
    rows = _read(path)
    assert [r.id for r in rows] == ["1", "named", "3"]
    assert rows[2].error == "d.parquet:3: expected a JSON object (a request)"


def test_parquet_needs_a_text_request_column(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"prompt": ["x"]}), path)
    with pytest.raises(ConfigError, match="'request' column"):
        list(cursors(path))
    (tmp_path / "e.parquet").write_text("not parquet")
    with pytest.raises(ConfigError, match="not a readable Parquet file"):
        list(cursors(tmp_path / "e.parquet"))


def test_input_files(tmp_path):
    for name in ("b.jsonl", "a.parquet", "notes.txt", "c.jsonl"):
        (tmp_path / name).write_text("")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in input_files(tmp_path)] == ["a.parquet", "b.jsonl", "c.jsonl"]
    assert input_files(tmp_path / "c.jsonl") == [(tmp_path / "c.jsonl").resolve()]
    with pytest.raises(ConfigError, match="no such input"):
        input_files(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match=r"expected a \.jsonl or \.parquet file"):
        input_files(tmp_path / "notes.txt")
    with pytest.raises(ConfigError, match="holds no"):
        input_files(tmp_path / "sub")
