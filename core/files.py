"""Atomic file writes, shared by every writer whose file another process may read or write
at the same time (a search's exported tables, the task cache)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from core.errors import SparseNASError


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it onto ``path``.

    An interrupted write leaves the old file (or none) in place, never half a file. The
    temporary name is the process's own: processes writing the same file at once each rename
    a whole file (the last one wins), never each other's. An OSError becomes a one-line
    SparseNASError.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SparseNASError(f"cannot write '{path}': {exc.strerror or exc}") from None
