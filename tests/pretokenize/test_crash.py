"""Crash isolation: a row whose media kills its worker process (a native decoder's crash)
becomes an error row, and the run goes on — local pool and the Ray task adapter alike.

The crash is simulated by a planner that calls ``os.abort()`` for one file, installed with
``monkeypatch`` and carried into the worker processes by the ``fork`` start method (the
engines' forkserver would start clean ones)."""

from __future__ import annotations

import faulthandler
import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from mmtok.pretokenize import RowOptions, engines, pretokenize, read_output
from mmtok.pretokenize import rows as rows_module
from tests.pretokenize_data import GOOD, image, write_jsonl, write_media

pytestmark = pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")

CRASH = {"id": "boom", "prompt": "Look <image>", "media": [image("crash.png")]}


@pytest.fixture
def crashing(monkeypatch, tmp_path: Path) -> Path:
    """A dataset whose row ``boom`` aborts any process that plans it."""
    write_media(tmp_path)
    (tmp_path / "crash.png").write_bytes((tmp_path / "wide.png").read_bytes())
    real = rows_module.plan_sequence

    def plan(request, *args, **kwargs):
        if any("crash.png" in part.name for part in request.media_parts()):
            faulthandler.disable()  # pytest's handler would print the child's stack
            os.abort()  # what a segfault in a decoder does to the process: no exception
        return real(request, *args, **kwargs)

    monkeypatch.setattr(rows_module, "plan_sequence", plan)
    monkeypatch.setattr(engines, "_context", lambda: mp.get_context("fork"))
    good = [json.dumps(r) for r in GOOD[:4]]
    write_jsonl(tmp_path / "requests.jsonl", [good[0], good[1], json.dumps(CRASH), *good[2:]])
    return tmp_path


def _errors(folder: Path) -> dict[str, str | None]:
    table = read_output(folder, columns=["id", "error"]).to_pylist()
    return {r["id"]: r["error"] for r in table}


def test_a_crashing_row_costs_only_itself_in_the_local_pool(crashing: Path) -> None:
    out = crashing / "out"
    finished = pretokenize(
        crashing / "requests.jsonl", out, RowOptions(), shard_rows=2, engine="local", workers=2
    )
    errors = _errors(out)
    assert len(errors) == 5 and errors["boom"] == engines.CRASHED
    assert [e for i, e in errors.items() if i != "boom"] == [None] * 4
    assert finished is not None


@pytest.mark.parametrize("shard_rows", [2, 100])
def test_one_worker_runs_in_a_helper_so_a_crash_costs_only_its_row(
    crashing: Path, shard_rows: int
) -> None:
    """``--workers 1`` (and a single shard) never plans in the driver: the driver survives."""
    out = crashing / "out"
    pretokenize(crashing / "requests.jsonl", out, RowOptions(), shard_rows=shard_rows, workers=1)
    errors = _errors(out)
    assert len(errors) == 5 and errors["boom"] == engines.CRASHED
    assert [e for i, e in errors.items() if i != "boom"] == [None] * 4


def test_the_ray_adapter_isolates_a_crash_without_ray(crashing: Path) -> None:
    """What a Ray task runs (no cluster needed): the crash never reaches the task's process."""
    from mmtok.pretokenize.run import prepare

    out = crashing / "out"
    run = prepare(crashing / "requests.jsonl", out, RowOptions(), shard_rows=5, engine="ray")
    shards = {s.index: s for s in run.pending}
    job = engines.Job(str(out), run.options)
    result = engines._ray_batch({"shard": list(shards)}, shards, job)
    assert result["rows"] == [5]
    errors = _errors(out)
    assert errors["boom"] == engines.CRASHED and sum(e is None for e in errors.values()) == 4
