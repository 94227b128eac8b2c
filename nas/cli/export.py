"""``nas export`` and ``nas infer``: take a found network away and run it on new text.

Heavy modules (torch, nas.experiments.export) are imported inside the commands, once the
options, the run dir or the export's card and the inputs are checked, so ``nas --help`` and
bad input answer at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nas.cli.console import (
    check_out_dir,
    console,
    err_console,
    records_table,
    run_or_exit,
    unwrapped_help,
)


@unwrapped_help
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A search's out dir.")],
    out: Annotated[Path, typer.Option(help="Folder to write the network into.")],
    rank: Annotated[
        int, typer.Option(help="Position in the ranking (1 = best; see nas rank).")
    ] = 1,
    force: Annotated[
        bool, typer.Option(help="Overwrite --out when it already holds files (an export).")
    ] = False,
) -> None:
    """Export a found network: topology, trained weights and card.json, into one folder.

    The card holds the cell, the task with its vocabulary and tokenisation, the accuracy,
    graph properties, nonzero parameters, seeds and versions. Only networks whose weights the
    search kept (its best, in best/) can be exported.
    """

    def export():
        from core.checks import check_int
        from nas.reports.sources import check_run_dir

        check_int(rank, "rank", low=1)  # the checks of paths alone, before torch and pandas
        check_run_dir(run_dir)
        check_out_dir(out)  # a folder it makes is removed again if the export fails
        from nas.experiments.export import export_network

        return export_network(run_dir, rank, out, force=force)

    card = run_or_exit(export, writes=out)
    err_console.print(
        f"exported rank {card['rank']} (trial {card['trial']}, {card['cell']}, "
        f"test acc {card['test_acc']:.4f}, {card['params_nonzero']} nonzero parameters) "
        f"to {out}",
        markup=False,
        highlight=False,
    )


@unwrapped_help
def infer_command(
    folder: Annotated[Path, typer.Argument(help="An export folder (nas export).")],
    texts: Annotated[list[str] | None, typer.Argument(help="Input texts, e.g. BTSSXXTVVE.")] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="A file of input texts, one per line.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Run an exported network: each input's class and its probability.

    An input may be at most 4 times as long as the longest sequence the network was trained
    on (1,000 tokens for an export that does not record it), and one call reads at most
    10,000 inputs.
    """

    def infer():
        from core.errors import SparseNASError, existing_folder
        from models.export_card import checked_export
        from nas.experiments.infer_input import token_ids

        existing_folder(folder, "export folder")
        inputs = list(texts or [])
        if input_file is not None:
            try:
                lines = input_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise SparseNASError(f"cannot read input file '{input_file}': {exc}") from None
            inputs += [line for line in lines if line.strip()]
        # The export's files and card, and the inputs against its vocabulary, before torch
        # (infer_texts checks them again as it loads the network).
        _, card = checked_export(folder)
        token_ids(card, inputs)
        from nas.experiments.export import infer_texts

        return infer_texts(folder, inputs)

    results = run_or_exit(infer)
    if as_json:
        print(json.dumps(results))
        return
    console.print(
        records_table(
            results, ["input", "class", "probability"], str(folder), left=("input", "class")
        )
    )
