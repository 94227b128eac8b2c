"""The ``nas`` Typer app: one thin module per command, registered here.

Bad input raises SparseNASError anywhere below; the commands run their library call inside
``nas.cli.console.run_or_exit``, which prints ``error: <message>`` on one line and exits
with code 2.
"""

from __future__ import annotations

import typer

from nas.cli.evaluate import evaluate_command
from nas.cli.export import export_command, infer_command
from nas.cli.graphs import properties_command, sample_command
from nas.cli.predictor import predictor_app
from nas.cli.prune import prune_command
from nas.cli.rank import rank_command
from nas.cli.report import report_command
from nas.cli.search import search_command

app = typer.Typer(
    help="Search for sparse recurrent networks wired by random graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("evaluate")(evaluate_command)
app.command("sample")(sample_command)
app.command("properties")(properties_command)
app.command("search")(search_command)
app.command("prune")(prune_command)
app.command("report")(report_command)
app.command("rank")(rank_command)
app.command("export")(export_command)
app.command("infer")(infer_command)
app.add_typer(predictor_app, name="predictor", help="Learn accuracy from graph properties.")
