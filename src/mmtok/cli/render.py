"""Shared rendering for CLI commands: rich console, JSON output, error lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from mmtok.errors import ConfigError, MmtokError

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout (no rich markup, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, default=_default) + "\n")


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def fail(message: str, code: int = 2) -> None:
    """Print an error line on stderr and exit with ``code``."""
    import typer

    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_on(exc: MmtokError) -> None:
    """The error line of a library error; exit 2 for a configuration or usage error (an unknown
    profile, a bad option value, an unreadable model folder), 1 for bad input (media, requests,
    budgets)."""
    fail(str(exc), 2 if isinstance(exc, ConfigError) else 1)


def check_output(path: Path | None, option: str) -> None:
    """Refuse an output file whose folder does not exist, or that is a folder (exit 2),
    before any work is done."""
    if path is not None and not path.parent.is_dir():
        fail(f"{option} {path}: no such folder {path.parent}")
    if path is not None and path.is_dir():
        fail(f"{option} {path}: is a folder, not a file")


def write_output(path: Path, save: Callable[[], object], errors: tuple[type, ...] = ()) -> None:
    """Run ``save`` (it writes ``path``); an ``OSError``/``ValueError`` (a full disk, an
    unknown image suffix) or one of ``errors`` is one error line, exit 1."""
    try:
        save()
    except (OSError, ValueError, *errors) as exc:
        fail(f"{path}: cannot write ({exc})", 1)


def binary_size(n: float) -> str:
    """Bytes in binary units, as every command writes them: ``512 B``, ``3.5 MiB``."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = 2 ** (10 * ("KMGT".index(unit[0]) + 1))
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"
