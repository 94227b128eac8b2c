"""The ``nas`` Typer app: one thin module per command, imported only when its command runs.

Bad input raises SparseNASError anywhere below; the commands run their library call inside
``nas.cli.console.run_or_exit``, which prints ``error: <message>`` on one line and exits
with code 2; a usage error Click finds (``--nodes abc``, an unknown or missing option) is
the same one line and exit code 2 (``LazyCommands.main``, ``nas.cli.usage``), never Typer's
usage box. A command's module is imported when the command is looked up (``LazyCommands``),
so ``nas search --cell nope`` never imports what ``nas prune`` needs, and each command module
checks its options before it imports torch, Optuna or pandas: an error appears at once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer import _click as click  # Typer's own copy of Click
from typer._click import exceptions as errors
from typer.core import TyperGroup

from nas.cli.usage import usage_line

COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": ("nas.cli.evaluate", "evaluate_command"),
    "sample": ("nas.cli.graphs", "sample_command"),
    "properties": ("nas.cli.graphs", "properties_command"),
    "search": ("nas.cli.search", "search_command"),
    "prune": ("nas.cli.prune", "prune_command"),
    "report": ("nas.cli.report", "report_command"),
    "rank": ("nas.cli.rank", "rank_command"),
    "export": ("nas.cli.export", "export_command"),
    "infer": ("nas.cli.export", "infer_command"),
}
"""Command name -> (module, function)."""
GROUPS: dict[str, tuple[str, str, str]] = {
    "predictor": ("nas.cli.predictor", "predictor_app", "Learn accuracy from graph properties."),
}
"""Command group name -> (module, Typer app, help)."""


class LazyCommands(TyperGroup):
    """A Typer group that builds a command from its module only when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *GROUPS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name]
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            single.command(cmd_name)(getattr(importlib.import_module(module), name))
            return typer.main.get_command(single)
        if cmd_name in GROUPS:
            module, name, help_text = GROUPS[cmd_name]
            group = typer.main.get_group(getattr(importlib.import_module(module), name))
            group.name, group.help = cmd_name, group.help or help_text
            return group
        return None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, but an unknown command's error lists the commands there are."""
        try:
            return super().resolve_command(ctx, args)
        except errors.UsageError:
            name = args[0] if args else ""
            if not name or name.startswith("-") or self.get_command(ctx, name) is not None:
                raise
            choices = ", ".join(self.list_commands(ctx))
            raise errors.UsageError(
                f"no such command {name!r}; choose one of {choices}", ctx
            ) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's ``main``, but a usage error is one ``error:`` line and exit code 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        given = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(given, prog_name, complete_var, False, **extra)
        except errors.NoArgsIsHelpError as exc:
            _exit(exc.exit_code)  # the help is already printed
        except errors.UsageError as exc:
            _exit(2, f"error: {usage_line(exc, given, self)}")
        except errors.ClickException as exc:
            message = exc.format_message()
            _exit(exc.exit_code, f"error: {message[:1].lower()}{message[1:]}")
        except typer.Abort:  # Typer's vendored click has no Abort of its own
            _exit(1, "Aborted!")
        _exit(code if isinstance(code, int) else 0)


def _exit(code: int, line: str | None = None) -> NoReturn:
    if line is not None:
        from nas.cli.console import err_console

        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


app = typer.Typer(
    cls=LazyCommands,
    help="Search for sparse recurrent networks wired by random graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Search for sparse recurrent networks wired by random graphs."""
