"""``mmtok pack``: every packed row is the concatenation of its samples' rows (ids, modality
ids, per-sample positions, grids), boundaries and ids are right, nothing is lost or
duplicated, streaming through several buckets gives the same rows, options and folders are
checked before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import mmtok.cli.pack  # noqa: F401  (registers the command)
from mmtok.cli.app import app
from mmtok.errors import ConfigError
from mmtok.pretokenize import MANIFEST, RowOptions, pretokenize, read_output
from mmtok.pretokenize import pack as pack_module
from mmtok.pretokenize.pack import PACKED_SCHEMA, PackOptions, pack
from tests.pretokenize_data import varied

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")


@pytest.fixture(scope="module")
def pretokenized(tmp_path_factory):
    """60 varied Qwen2-VL requests (images, a clip in every fifth) and one invalid line,
    pretokenized in shards of 7 rows."""
    folder = tmp_path_factory.mktemp("data")
    out = folder / "pretokenized"
    pretokenize(varied(folder, 60), out, RowOptions(), shard_rows=7, workers=1)
    return out


def _samples(folder):
    return {r["id"]: r for r in read_output(folder).to_pylist() if r["error"] is None}


def _check_exact(packed_rows, samples, options):
    """Each packed row against the rows it holds; returns the ids packed."""
    seen = []
    for row in packed_rows:
        ids, seq_lens = row["ids"], row["seq_lens"]
        parts = [samples[i] for i in ids]
        assert seq_lens == [p["num_tokens"] for p in parts]
        tokens = sum(seq_lens)
        assert row["num_tokens"] == tokens <= options.capacity
        pad = len(row["input_ids"]) - tokens
        assert (
            0 <= pad < options.pad_to_multiple
            and len(row["input_ids"]) % options.pad_to_multiple == 0
        )
        assert len(row["input_ids"]) <= options.context
        ends = list(np.cumsum(seq_lens))
        assert row["cu_seqlens"] == [0, *ends] + ([tokens + pad] if pad else [])
        assert (
            row["input_ids"] == [t for p in parts for t in p["input_ids"]] + [options.pad_id] * pad
        )
        assert row["modality_ids"] == [t for p in parts for t in p["modality_ids"]] + [4] * pad
        assert row["image_grid_thw"] == [g for p in parts for g in p["image_grid_thw"]]
        assert row["video_grid_thw"] == [g for p in parts for g in p["video_grid_thw"]]
        positions = np.array(row["position_ids"])
        assert positions.shape == (3, tokens + pad)
        for p, start, end in zip(parts, [0, *ends], ends, strict=False):
            # each sample keeps the positions it has alone: they restart at 0 per sample
            assert positions[:, start:end].tolist() == p["position_ids"]
            assert positions[:, start].tolist() == [0, 0, 0]
        assert not positions[:, tokens:].any()
        seen.extend(ids)
    return seen


@pytest.mark.parametrize(
    "options",
    [
        PackOptions(context=512, shard_rows=3),
        PackOptions(context=500, pad_to_multiple=64, pad_id=7, shuffle_seed=3, shard_rows=2),
    ],
)
def test_packed_rows_are_concatenations_of_the_samples(pretokenized, tmp_path, options):
    manifest = pack(pretokenized, tmp_path / "packed", options)
    table = read_output(tmp_path / "packed")
    assert table.schema.equals(PACKED_SCHEMA)
    samples = _samples(pretokenized)
    seen = _check_exact(table.to_pylist(), samples, options)
    assert sorted(seen) == sorted(samples)  # every sample once, none lost, none twice
    lengths = [s["num_tokens"] for s in samples.values()]
    assert manifest["rows"] == table.num_rows and manifest["samples"] == len(samples)
    assert manifest["tokens"] == sum(lengths)
    assert manifest["efficiency"] == round(sum(lengths) / (table.num_rows * options.context), 4)
    assert manifest["lower_bound_rows"] == -(-sum(lengths) // options.capacity)
    assert sum(manifest["histogram"]["rows"]) == table.num_rows
    assert manifest["skipped"] == {"errors": 1, "empty": 0, "too_long": 0}
    for row in table.to_pylist():  # within a row, samples keep input order
        order = [int(i[1:]) for i in row["ids"]]
        assert order == sorted(order)
    assert json.loads((tmp_path / "packed" / MANIFEST).read_text()) == manifest
    assert pq.read_table(tmp_path / "packed").equals(table)  # a standard Parquet dataset
    assert ds.dataset(tmp_path / "packed").count_rows() == table.num_rows
    assert len(pd.read_parquet(tmp_path / "packed")) == table.num_rows


def test_streaming_through_many_buckets_gives_the_same_rows(pretokenized, tmp_path, monkeypatch):
    options = PackOptions(context=400, shard_rows=2)
    pack(pretokenized, tmp_path / "one", options)
    monkeypatch.setattr(pack_module, "BUCKETS", 2)  # several output shards per bucket
    pack(pretokenized, tmp_path / "two", options)
    monkeypatch.setattr(pack_module, "BUCKETS", 1000)  # one bucket per output shard
    pack(pretokenized, tmp_path / "many", options)
    one = read_output(tmp_path / "one")
    assert one.equals(read_output(tmp_path / "two")) and one.equals(read_output(tmp_path / "many"))
    assert not list((tmp_path / "two").glob(".pack-*"))  # temporary buckets removed


def test_rows_over_the_context_are_listed_not_packed(pretokenized, tmp_path):
    samples = _samples(pretokenized)
    lengths = sorted(s["num_tokens"] for s in samples.values())
    context = lengths[-3]  # the two longest do not fit (if not tied)
    over = {i: s["num_tokens"] for i, s in samples.items() if s["num_tokens"] > context}
    manifest = pack(pretokenized, tmp_path / "packed", PackOptions(context=context))
    assert manifest["skipped"]["too_long"] == len(over) > 0
    assert {r["id"]: r["num_tokens"] for r in manifest["too_long"]} == over
    packed = {i for r in read_output(tmp_path / "packed").to_pylist() for i in r["ids"]}
    assert packed == set(samples) - set(over)


def test_shuffle_seed_is_deterministic(pretokenized, tmp_path):
    runs = [
        pack(pretokenized, tmp_path / name, PackOptions(context=512, shuffle_seed=seed))
        for name, seed in (("a", 1), ("b", 1), ("c", 2))
    ]
    a, b, c = (read_output(tmp_path / n).column("ids").to_pylist() for n in "abc")
    assert a == b and a != c
    assert runs[0]["rows"] == runs[2]["rows"]


def test_refusals_leave_nothing_behind(pretokenized, tmp_path):
    bad = [
        PackOptions(context=0),
        PackOptions(context=100, pad_to_multiple=128),
        PackOptions(context=100, shard_rows=0),
        PackOptions(context=100, pad_id=-1),
    ]
    for options in bad:
        with pytest.raises(ConfigError):
            pack(pretokenized, tmp_path / "out", options)
    assert not (tmp_path / "out").exists()
    short = tmp_path / "short"
    source = pretokenized.parent / "varied.jsonl"
    pretokenize(source, short, RowOptions(lengths_only=True), workers=1)
    with pytest.raises(ConfigError, match="needs full rows"):
        pack(short, tmp_path / "out", PackOptions(context=100))
    with pytest.raises(ConfigError, match="not an mmtok pretokenize output"):
        pack(tmp_path, tmp_path / "out", PackOptions(context=100))
    with pytest.raises(ConfigError, match="cannot be the input folder"):
        pack(pretokenized, pretokenized, PackOptions(context=100))
    with pytest.raises(ConfigError, match="not an mmtok pack output"):
        pack(pretokenized, pretokenized.parent, PackOptions(context=100))
    assert not (tmp_path / "out").exists()


def test_cli_pack_json_chart_and_errors(pretokenized, tmp_path):
    out = tmp_path / "packed"
    chart = tmp_path / "fill.png"
    args = ["pack", str(pretokenized), str(out), "--context", "512", "--chart", str(chart)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    for key in ("rows", "samples", "tokens", "efficiency", "histogram", "too_long", "skipped"):
        assert key in manifest
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = runner.invoke(app, ["pack", str(pretokenized), "--out", str(out), "--context", "512"])
    assert again.exit_code == 0, again.output  # an earlier pack output is replaced
    assert "efficiency" in again.stdout and read_output(out).num_rows == manifest["rows"]
    bad = runner.invoke(app, ["pack", str(pretokenized), str(tmp_path / "x"), "--context", "0"])
    assert bad.exit_code == 2 and "--context 0" in bad.output
    assert not (tmp_path / "x").exists()
