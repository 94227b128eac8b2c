"""The ``nas`` Typer app: one thin module per command, imported only when its command runs.

Bad input raises SparseNASError anywhere below; the commands run their library call inside
``nas.cli.console.run_or_exit``, which prints ``error: <message>`` on one line and exits
with code 2. A command's module is imported when the command is looked up (``LazyCommands``),
so ``nas search --cell nope`` never imports what ``nas prune`` needs, and each command module
checks its options before it imports torch, Optuna or pandas: an error appears at once.
"""

from __future__ import annotations

import importlib

import typer
from typer import _click as click  # Typer's own copy of Click
from typer.core import TyperGroup

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
            single = typer.Typer(pretty_exceptions_enable=False)
            single.command(cmd_name)(getattr(importlib.import_module(module), name))
            return typer.main.get_command(single)
        if cmd_name in GROUPS:
            module, name, help_text = GROUPS[cmd_name]
            group = typer.main.get_group(getattr(importlib.import_module(module), name))
            group.name, group.help = cmd_name, group.help or help_text
            return group
        return None


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
