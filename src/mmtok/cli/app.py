"""The ``mmtok`` command: a typer app that registers one module per command.

A call imports only the module of the command it names (``mmtok count`` never loads the
training or compression code); help and unknown names import them all, so ``mmtok --help``
lists every command. Command modules keep heavy imports inside their functions.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

app = typer.Typer(
    name="mmtok",
    help="Images, audio and video into exact token sequences for multimodal LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command (or command group) name → the ``mmtok.cli`` module that adds it to ``app`` on import.
COMMANDS: dict[str, str] = {
    "cache": "cache",
    "codec": "codec",
    "compress": "compress",
    "compress-eval": "compress",
    "count": "count",
    "demo": "demo",
    "density": "density",
    "encode": "cache",
    "pack": "pack",
    "plan": "plan",
    "pretokenize": "pretokenize",
    "serve": "serve",
    "tokenize": "tokenize",
    "train-codec": "train",
    "train-vq": "train",
    "vq": "vq",
    "vq-decode": "vq",
    "vq-encode": "vq",
}


@app.callback()
def _root() -> None:
    """mmtok: count, tokenize, plan and compress multimodal input."""


def register(args: Sequence[str] = ()) -> None:
    """Import the module of the command ``args`` names, or every command module when they
    name none (``--help``, no arguments) or an unknown one (so typer can list the choices)."""
    name = next((a for a in args if not a.startswith("-")), None)
    modules = [COMMANDS[name]] if name in COMMANDS else sorted(set(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"mmtok.cli.{module}")


def main() -> None:
    register(sys.argv[1:])
    app()
