"""The project's one user-facing exception.

A leaf module that imports nothing from the project, so every layer can raise it and only the
command line catches it (prints one line, exits with code 2).
"""


class SparseNASError(Exception):
    """Bad input or an impossible request; the message names the value and what is allowed."""
