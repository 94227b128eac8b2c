"""Lazy package exports (PEP 562): a package re-exports names of its submodules without
importing them until first use, so importing one light submodule (a constant the command
line needs) does not import scikit-learn, torch or Optuna."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``homes`` is imported from its
    module (``homes[name]``) on first use, then kept in the package."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(package)
        value = getattr(importlib.import_module(homes[name]), name)
        setattr(module, name, value)
        return value

    return __getattr__
