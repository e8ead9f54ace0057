"""Engines and shards: 1 vs 2 local workers vs Ray write identical files; shard layout;
resume after a kill, after lost or damaged shards; refusing to mix two jobs in one folder."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmtok.errors import ConfigError
from mmtok.pretokenize import MANIFEST, RowOptions, layout, pretokenize, read_output
from mmtok.pretokenize.engines import import_ray
from mmtok.pretokenize.source import Cursor
from tests.pretokenize_data import GOOD, dataset, image, write_jsonl, write_media

pytestmark = pytest.mark.filterwarnings(  # the built-in tokenizer stands in for Qwen's
    "ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A folder: ``requests.jsonl`` (9 rows, 4 bad) and ``more.parquet`` (3 good rows)."""
    folder = tmp_path_factory.mktemp("data")
    dataset(folder)
    texts = [json.dumps(r) for r in (GOOD[1], GOOD[2], GOOD[1])]  # without ids
    pq.write_table(pa.table({"request": texts}), folder / "more.parquet")
    return folder


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("shard-*.parquet"))}


@pytest.mark.parametrize("lengths_only", [False, True])
def test_one_two_workers_and_ray_write_identical_files(source, ray_local, tmp_path, lengths_only):
    options = RowOptions(lengths_only=lengths_only)
    runs = {
        name: pretokenize(
            source, tmp_path / name, options, shard_rows=3, engine=engine, workers=workers
        )
        for name, engine, workers in (("one", "local", 1), ("two", "local", 2), ("ray", "ray", 2))
    }
    files = {name: _files(tmp_path / name) for name in runs}
    assert list(files["one"]) == [f"shard-0000{i}.parquet" for i in range(4)]  # 12 rows / 3
    assert files["one"] == files["two"] == files["ray"]
    table = read_output(tmp_path / "one")
    assert table.num_rows == 12  # one row per input row: 9 JSONL rows + 3 Parquet rows
    ids = table.column("id").to_pylist()  # files in name order, rows in file order
    assert ids[:5] == [f"more.parquet:{i}" for i in (1, 2, 3)] + ["prompt-1", "requests.jsonl:2"]
    assert ids[-1] == "requests.jsonl:10"
    for finished in runs.values():
        m = finished.manifest
        assert (m["rows"], m["complete"], m["run"]["shards_written"]) == (12, True, 4)
        assert m["errors"] == 3  # nothing is decoded: a corrupt image passes its header
        assert m["tokens"]["total"] == sum(table.column("num_tokens").drop_null().to_pylist())


def test_layout_cuts_rows_across_files_in_order(tmp_path):
    files = []
    for name, n in (("a.jsonl", 2), ("b.jsonl", 3), ("c.jsonl", 4)):
        rows = ['{"prompt": "x"}'] * n
        files.append(write_jsonl(tmp_path / name, ["", *rows]))  # rows start on line 2
    plan = layout(files, 4, prefixed=True)
    assert [s.rows for s in plan.shards] == [4, 4, 1]
    assert [(p.path.rsplit("/", 1)[-1], p.rows) for p in plan.shards[1].slices] == [
        ("b.jsonl", 1),
        ("c.jsonl", 3),
    ]
    assert plan.shards[1].slices[0].start.line == 4  # b's 3rd row: line 4
    row = len('{"prompt": "x"}\n')
    assert plan.shards[2].slices[0].start == Cursor(5, 1 + 3 * row)  # c's 4th row
    assert plan.shards[0].slices[0].prefix == "a.jsonl:"
    assert [f.rows for f in plan.files] == [2, 3, 4] and plan.rows == 9
    with pytest.raises(ConfigError, match="--shard-rows 0"):
        layout(files, 0, prefixed=False)


def _slow_source(folder):
    """40 requests of a 1400×1000 image: about 50 ms each to encode (with ``verify``)."""
    write_media(folder)
    row = json.dumps({"prompt": "<image>", "media": [image("big.png")]})
    return write_jsonl(folder / "slow.jsonl", [row] * 40)


def test_a_killed_run_resumes_to_the_same_output(tmp_path):
    src = _slow_source(tmp_path / "data")
    killed = tmp_path / "killed"
    script = "import mmtok.cli.pretokenize; from mmtok.cli.app import app; app()"
    cmd = [sys.executable, "-c", script, "pretokenize", str(src), str(killed)]
    proc = subprocess.Popen(
        [*cmd, "--shard-rows", "2", "--workers", "1", "--verify"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (killed / "shard-00000.parquet").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no shard written in 2 minutes"
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    written = len(list(killed.glob("shard-*.parquet")))
    assert 0 < written < 20, written  # killed part-way
    assert json.loads((killed / MANIFEST).read_text())["complete"] is False

    verify = RowOptions(verify=True)
    resumed = pretokenize(src, killed, verify, shard_rows=2, workers=1)
    assert resumed.manifest["run"]["shards_skipped"] == written
    assert resumed.manifest["run"]["shards_written"] == 20 - written
    whole = pretokenize(src, tmp_path / "whole", verify, shard_rows=2, workers=1)
    assert _files(killed) == _files(tmp_path / "whole")
    assert read_output(killed).equals(read_output(tmp_path / "whole"))
    assert {k: v for k, v in resumed.manifest.items() if k not in ("run", "input")} == {
        k: v for k, v in whole.manifest.items() if k not in ("run", "input")
    }


def test_a_rerun_rewrites_only_lost_or_damaged_shards(source, tmp_path):
    out = tmp_path / "out"
    pretokenize(source, out, RowOptions(lengths_only=True), shard_rows=3, workers=1)
    before = _files(out)
    (out / "shard-00001.parquet").unlink()
    (out / "shard-00002.parquet").write_bytes(b"PAR1 half a file")
    (out / ".shard-00003.parquet.12345.tmp").write_bytes(b"left by a killed writer")
    again = pretokenize(source, out, RowOptions(lengths_only=True), shard_rows=3, workers=1)
    assert (again.manifest["run"]["shards_written"], again.manifest["run"]["shards_skipped"]) == (
        2,
        2,
    )
    assert _files(out) == before
    assert not list(out.glob(".*.tmp"))
    third = pretokenize(source, out, RowOptions(lengths_only=True), shard_rows=3, workers=1)
    assert third.manifest["run"]["shards_written"] == 0 and third.manifest["rows"] == 12


def test_one_folder_holds_one_job(source, tmp_path):
    out = tmp_path / "out"
    pretokenize(source, out, RowOptions(lengths_only=True), shard_rows=3, workers=1)
    with pytest.raises(ConfigError, match=r"options\.lengths_only: true → false"):
        pretokenize(source, out, RowOptions(), shard_rows=3, workers=1)
    with pytest.raises(ConfigError, match="different options"):
        pretokenize(source, out, RowOptions(lengths_only=True), shard_rows=4, workers=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a pretokenize output"):
        pretokenize(source, other, shard_rows=3, workers=1)
    with pytest.raises(ConfigError, match="cannot be the input folder"):
        pretokenize(source, source, shard_rows=3, workers=1)


def test_missing_ray_names_the_extra(monkeypatch, source, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    with pytest.raises(ConfigError, match=r"mmtok\[ray\]"):
        import_ray()
    with pytest.raises(ConfigError, match=r"mmtok\[ray\]"):
        pretokenize(source, tmp_path / "out", engine="ray")
    assert not (tmp_path / "out").exists()  # refused before anything was written
