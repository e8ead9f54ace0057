"""``mmtok.cli.app``: the command table names every command, and a call imports only its own."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from mmtok.cli.app import COMMANDS, app

CLI = Path(__file__).resolve().parents[2] / "src" / "mmtok" / "cli"


def test_the_table_names_every_registered_command_and_group():
    for module in set(COMMANDS.values()):
        importlib.import_module(f"mmtok.cli.{module}")
    registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert registered == set(COMMANDS)


def test_every_module_that_registers_a_command_is_in_the_table():
    registering = {
        p.stem
        for p in CLI.glob("*.py")
        if "@app.command(" in (text := p.read_text(encoding="utf-8")) or "app.add_typer(" in text
    }
    assert registering == set(COMMANDS.values())


def test_a_call_imports_only_its_command_module_and_help_lists_all():
    code = (
        "import sys\n"
        "from mmtok.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('mmtok.cli.')))"
    )
    run = [sys.executable, "-c", code]
    done = subprocess.run([*run, "density", "--json"], capture_output=True, text=True)
    loaded = done.stdout.strip().splitlines()[-1]
    assert "'mmtok.cli.density'" in loaded and "'mmtok.cli.count'" not in loaded
    done = subprocess.run([*run, "--help"], capture_output=True, text=True)
    assert all(f" {name} " in done.stdout for name in COMMANDS)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["count", "--bogus", "x.jpg"], "No such option: --bogus"),
        (["count"], "Missing argument 'FILES'"),
        (["nope"], "No such command 'nope'"),
    ],
)
def test_usage_errors_of_the_console_script_are_one_line(args: list[str], needle: str) -> None:
    """click's own usage errors read like mmtok's: one ``error:`` line, exit 2, no panel."""
    script = Path(sys.executable).with_name("mmtok")
    out = subprocess.run([str(script), *args], capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert lines[0].startswith("error:") and needle in lines[0]
