"""The ``nas`` command line: parse options, call one library function, render the result.

``nas.cli.app`` holds the Typer app; ``nas.cli.console`` the shared consoles, error boundary,
progress bars and number formatting. Imports everything else; nothing imports it.
"""

from nas.cli.app import app

__all__ = ["app"]
