"""A run's totals, read back from its shard files, and the histogram of its lengths.

Totals come from the files, not from the run's own counters, so a resumed run (which never
saw the shards an earlier run wrote) reports the whole output. Only the ``num_tokens``,
``error`` and ``fitted`` columns are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmtok.pretokenize.shards import Shard, ShardResult, shard_name, totals


@dataclass(frozen=True)
class Summary:
    """Per-shard totals, the error and fitted row counts, and every successful row's length
    ``(n,)`` tokens, in row order."""

    shards: tuple[ShardResult, ...]
    fitted: int
    lengths: np.ndarray

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.shards)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    def length_stats(self) -> dict[str, float]:
        """Min, mean, median, 95th percentile and max of the lengths (tokens)."""
        if not len(self.lengths):
            return {}
        q50, q95 = np.percentile(self.lengths, [50, 95])
        return {
            "min": int(self.lengths.min()),
            "mean": round(float(self.lengths.mean()), 1),
            "p50": float(q50),
            "p95": float(q95),
            "max": int(self.lengths.max()),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "errors": self.errors,
            "fitted": self.fitted,
            "tokens": {"total": self.tokens, **self.length_stats()},
            "shards": [{"file": shard_name(s.index), **asdict(s)} for s in self.shards],
        }


def summarize(folder: Path, shards: Sequence[Shard]) -> Summary:
    """Totals of the written ``shards`` of ``folder``."""
    results, lengths, fitted = [], [], 0
    for shard in shards:
        file = pq.ParquetFile(folder / shard.name)
        columns = [c for c in ("num_tokens", "error", "fitted") if c in file.schema_arrow.names]
        table = file.read(columns=columns)
        results.append(totals(shard.index, table))
        lengths.append(table.column("num_tokens").drop_null().to_numpy())
        if "fitted" in columns:
            fitted += pc.sum(table.column("fitted")).as_py() or 0
    joined = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int32)
    return Summary(tuple(results), fitted, joined)


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (imported only to draw a chart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lengths(summary: Summary, path: Path, budget: int | None = None) -> None:
    """Write a PNG histogram of the sequence lengths, with the token budget as a line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if len(summary.lengths):
        ax.hist(summary.lengths, bins=min(60, max(len(np.unique(summary.lengths)), 1)))
    if budget is not None:
        ax.axvline(budget, color="black", linestyle="--", label=f"budget {budget:,}")
        ax.legend()
    ax.set_xlabel("tokens per sample")
    ax.set_ylabel("samples")
    ax.set_title(
        f"{summary.rows:,} rows · {summary.errors:,} errors · {summary.tokens:,} tokens",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_packing(manifest: dict[str, Any], path: Path) -> None:
    """Write a PNG histogram of how full the packed rows are, from a pack manifest."""
    plt = _pyplot()
    hist = manifest["histogram"]
    edges = np.array(hist["fill"]) * 100
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(edges[:-1], hist["rows"], width=np.diff(edges), align="edge", edgecolor="white")
    ax.set_xlabel(f"% of the context ({manifest['options']['context']:,} tokens) filled")
    ax.set_ylabel("packed rows")
    ax.set_title(
        f"{manifest['samples']:,} samples → {manifest['rows']:,} rows · "
        f"efficiency {manifest['efficiency']:.1%}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
