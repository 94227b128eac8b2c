"""The ``nas`` command line: parse options, call one library function, render the result.

``nas.cli.app`` holds the Typer app; ``nas.cli.console`` the shared consoles, error boundary,
progress bars and number formatting. Imports everything else; nothing imports it.
"""

import gc
import sys

from nas.cli.app import app

__all__ = ["app", "run"]


def run() -> None:
    """The ``nas`` command: the Typer app, then a quick exit.

    At exit the interpreter's last garbage collections walk every object PyTorch, SciPy and
    Optuna created, a cost measured in docs/figures.md (Startup). The storages are closed
    first (a SQLite file's connections must close to fold their write-ahead log back in),
    then the objects alive are frozen out of the collector's reach; everything else about
    exiting is unchanged. The storage module is only looked up: a command that never
    opened a storage need not import Optuna to close none.
    """
    try:
        app()
    finally:
        storage = sys.modules.get("nas.search.storage")
        if storage is not None:
            storage.close_storages()
        gc.freeze()
