"""Where the tokens go: a stacked bar per plan (before/after when it was fitted)."""

from __future__ import annotations

from pathlib import Path

from mmtok.budget.plan import Plan, PlanItem

_COLOURS = {"text": "#9e9e9e", "image": "#1f77b4", "video": "#d62728", "audio": "#2ca02c"}


def plot_plan(plan: Plan, path: Path) -> None:
    """Write a PNG: one stacked bar (two with fitting: original and fitted), a segment per
    item coloured by kind, the context and the reserve drawn as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def segments(items: tuple[PlanItem, ...]) -> list[tuple[str, str, int]]:
        return [
            (i.kind if i.index is None else f"{i.kind} {i.index + 1}", i.kind, i.tokens)
            for i in items
            if not i.dropped
        ]

    bars = [("request", segments(plan.items))]
    if plan.fitted_input_tokens is not None and plan.original_input_tokens != plan.input_tokens:
        bars = [("original", segments(plan.original_items)), ("fitted", segments(plan.items))]
    fig, ax = plt.subplots(figsize=(7, 1.6 + 0.7 * len(bars)))
    for y, (_, segs) in enumerate(bars):
        left = 0
        for label, kind, tokens in segs:
            ax.barh(y, tokens, left=left, color=_COLOURS.get(kind, "#7f7f7f"), edgecolor="white")
            if tokens > plan.context * 0.06:
                ax.text(left + tokens / 2, y, label, ha="center", va="center", fontsize=8)
            left += tokens
    ax.axvline(plan.context, color="black", linewidth=1.5, label=f"context {plan.context:,}")
    budget = plan.context - plan.reserve_output
    ax.axvline(budget, color="black", linestyle="--", linewidth=1, label=f"budget {budget:,}")
    ax.set_yticks(range(len(bars)), [name for name, _ in bars])
    ax.set_xlabel("tokens")
    ax.set_title(f"{plan.profile}: {plan.input_tokens:,} input tokens")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
