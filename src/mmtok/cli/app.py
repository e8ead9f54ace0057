"""The ``mmtok`` command: a typer app that registers one module per command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mmtok",
    help="Images, audio and video into exact token sequences for multimodal LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """mmtok: count, tokenize, plan and compress multimodal input."""


def _register() -> None:
    # Each command lives in its own module and adds itself to ``app`` on import.
    from mmtok.cli import (  # noqa: F401
        cache,
        compress,
        count,
        demo,
        density,
        plan,
        pretokenize,
        tokenize,
        train,
        vq,
    )


def main() -> None:
    _register()
    app()
