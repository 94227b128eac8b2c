"""The project's one user-facing exception.

A leaf module that imports nothing from the project, so every layer can raise it and only the
command line catches it (prints one line, exits with code 2).
"""

from os import PathLike
from pathlib import Path


class SparseNASError(Exception):
    """Bad input or an impossible request; the message names the value and what is allowed."""


def existing_file(path: str | PathLike[str], description: str) -> Path:
    """``path`` as a Path if it names an existing file; else the one-line error every reader
    (graph files, tables, predictors, CSV tasks) gives, e.g. "graph file 'a.txt' does not exist"."""
    path = Path(path)
    if not path.exists():
        raise SparseNASError(f"{description} '{path}' does not exist")
    if not path.is_file():
        raise SparseNASError(f"{description} '{path}' is not a file")
    return path


def existing_folder(path: str | PathLike[str], description: str) -> Path:
    """``path`` as a Path if it names a folder; else the one-line error every reader (run
    dirs, export folders) gives, e.g. "run dir 'x' does not exist or is not a folder"."""
    path = Path(path)
    if not path.is_dir():
        raise SparseNASError(f"{description} '{path}' does not exist or is not a folder")
    return path
