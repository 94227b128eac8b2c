"""The names of what ``models.pruning`` can prune, torch-free so the command line can show
and check them before torch is imported (``models.pruning`` documents each)."""

from __future__ import annotations

TARGETS: tuple[str, ...] = ("i2h", "h2h", "both", "all")
