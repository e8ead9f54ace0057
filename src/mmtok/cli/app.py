"""The ``mmtok`` command: a typer app that registers one module per command.

A call imports only the module of the command it names (``mmtok count`` never loads the
training or compression code); help and unknown names import them all, so ``mmtok --help``
lists every command. Command modules keep heavy imports inside their functions.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from mmtok.cli.render import err_console


class _Argument(TyperArgument):
    """An argument as help writes it: ``FILES...`` and ``[OUT]``, not typer's ``{files}...``
    (the braces read as a set, the lower case as a literal word)."""

    @property
    def display_name_raw(self) -> str:
        return (self.name or "").upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return f"{name}..." if self.nargs != 1 else name


def _tidy(params: Sequence[Any]) -> None:
    """Help without noise: a flag shows no ``<bool>`` value (it takes none); arguments are
    written as :class:`_Argument` does (same fields, only how help names them differs)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperArgument):
            param.__class__ = _Argument


def _tidy_command(command: Any, ctx: Any) -> Any:
    """:func:`_tidy` a command's parameters (its help option included), and a group's
    commands."""
    _tidy([*command.params, command.get_help_option(ctx)])
    for sub in getattr(command, "commands", {}).values():
        _tidy_command(sub, ctx)
    return command


class _Group(TyperGroup):
    """The root group: its options and every command it hands out (to run or for help) are
    :func:`_tidy`."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _tidy(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return _tidy_command(command, ctx) if command is not None else None


app = typer.Typer(
    name="mmtok",
    cls=_Group,
    help="Images, audio and video into exact token sequences for multimodal LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
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


def _print_version(value: bool) -> None:
    if value:
        from mmtok import __version__

        print(f"mmtok {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    """mmtok: count, tokenize, plan and compress multimodal input."""


def register(args: Sequence[str] = ()) -> None:
    """Import the module of the command ``args`` names, or every command module when they
    name none (``--help``, no arguments) or an unknown one (so typer can list the choices)."""
    name = next((a for a in args if not a.startswith("-")), None)
    if name is None and "--version" in args:
        return  # answered by the root callback: no command module is needed
    modules = [COMMANDS[name]] if name in COMMANDS else sorted(set(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"mmtok.cli.{module}")


def main() -> None:
    """The ``mmtok`` console script: click's own usage errors (a missing argument, an unknown
    option) become one ``error:`` line and exit 2, like mmtok's own errors."""
    # typer 0.29 carries its own click (typer._click); its usage errors live there.
    from typer._click import exceptions as click_errors

    register(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # the help text, as typer prints it
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "mmtok"
        line = f"{exc.format_message()} (see '{command} -h')"
        err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except click_errors.ClickException as exc:
        err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[bold red]error:[/] aborted", highlight=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
