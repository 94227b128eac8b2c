"""The layout's rules, checked by reading the source (``ast``; nothing is imported or run):

(a) imports go down: core <- graphs <- models <- predictors <- nas <- benchmarks, and of
    models, predictors import only ``models.cells``; the subpackages of ``nas`` import each
    other without a cycle;
(b) a status is spelled only by ``core.status.TrialStatus`` (and read in
    ``nas.search.records``): no other module writes a status as a string literal;
(c) every module of models/ and nas/ has at most ``MAX_MODULE_LINES`` lines, and no class in
    them more than ``MAX_CLASS_LINES``.

Run it alone with ``pytest tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from core.status import TrialStatus

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "graphs", "models", "predictors", "nas", "benchmarks")
"""Top-level packages from the bottom up: each may import only those before it."""
PREDICTOR_MODELS = "models.cells"
"""All that predictors/ may import of models/ (a cell's weight count)."""
NAS_SUBPACKAGES = ("nas.search", "nas.experiments", "nas.reports", "nas.tasks", "nas.cli")
STATUS_HOMES = {"core/status.py", "nas/search/records.py"}
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 200
SIZED = ("models", "nas")

OTHER_MEANINGS: dict[tuple[str, str], str] = {
    ("nas/tasks/reber.py", "invalid"): "the class of a string the Reber grammar rejects",
}
"""Literals equal to a status that mean something else: (file, literal) -> why."""


def _modules(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in ``path``, at any depth (lazy ones in functions and
    ``TYPE_CHECKING`` blocks are dependencies too); ``from a import b`` yields ``a.b`` (b
    may be a submodule) and relative imports are resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if alias.name != "*" else module


def _layer(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def _subpackage(module: str) -> str | None:
    return next((s for s in NAS_SUBPACKAGES if module == s or module.startswith(s + ".")), None)


def _upward_imports(path: Path) -> list[str]:
    own = _layer(_module_name(path))
    found = []
    for line, module in _imports(path):
        target = _layer(module)
        if own is None or target is None or target == own:
            continue
        upward = LAYERS.index(target) > LAYERS.index(own)
        models_beyond_cells = (
            own == "predictors"
            and target == "models"
            and module != PREDICTOR_MODELS
            and not module.startswith(PREDICTOR_MODELS + ".")
        )
        if upward or models_beyond_cells:
            found.append(f"{_rel(path)}:{line} imports {module}")
    return found


def _subpackage_edges(paths: list[Path]) -> dict[str, dict[str, str]]:
    """subpackage -> {imported subpackage: the first import that makes the edge}."""
    edges: dict[str, dict[str, str]] = {s: {} for s in NAS_SUBPACKAGES}
    for path in paths:
        own = _subpackage(_module_name(path))
        for line, module in _imports(path) if own else ():
            target = _subpackage(module)
            if target and target != own:
                edges[own].setdefault(target, f"{_rel(path)}:{line} imports {module}")
    return edges


def _cycles(edges: dict[str, dict[str, str]]) -> list[list[str]]:
    """Each cycle once, as the subpackages along it (depth-first search)."""
    found, seen = [], set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in trail:
                cycle = trail[trail.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append([*cycle, nxt])
            else:
                visit(nxt, [*trail, nxt])

    for start in NAS_SUBPACKAGES:
        visit(start, [start])
    return found


def _status_literals(path: Path) -> list[str]:
    name = _rel(path)
    values = {s.value for s in TrialStatus} - {v for f, v in OTHER_MEANINGS if f == name}
    return [
        f"{name}:{node.lineno} spells {node.value!r}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values
    ]


def _size_offences(path: Path) -> list[str]:
    found = []
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{_rel(path)} has {lines} lines (> {MAX_MODULE_LINES})")
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ClassDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            if length > MAX_CLASS_LINES:
                found.append(
                    f"{_rel(path)}:{node.lineno} class {node.name} has {length} lines "
                    f"(> {MAX_CLASS_LINES})"
                )
    return found


def test_imports_go_down_the_layers():
    offences = [o for p in _modules(*LAYERS) for o in _upward_imports(p)]
    assert not offences, "\n".join(offences)


def test_nas_subpackages_import_each_other_without_a_cycle():
    edges = _subpackage_edges(_modules("nas"))
    shown = []
    for cycle in _cycles(edges):
        steps = zip(cycle, cycle[1:], strict=False)
        shown.append(" -> ".join(cycle) + ": " + "; ".join(edges[a][b] for a, b in steps))
    assert not shown, "\n".join(shown)


def test_only_trial_status_spells_a_status():
    paths = [p for p in _modules(*LAYERS) if _rel(p) not in STATUS_HOMES]
    offences = [o for p in paths for o in _status_literals(p)]
    assert not offences, "\n".join(offences)


def test_modules_and_classes_stay_small():
    offences = [o for p in _modules(*SIZED) for o in _size_offences(p)]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("name, literal", sorted(OTHER_MEANINGS))
def test_an_allowed_literal_is_still_there(name, literal):
    """An entry of ``OTHER_MEANINGS`` whose literal is gone leaves it."""
    tree = _tree(ROOT / name)
    assert any(isinstance(n, ast.Constant) and n.value == literal for n in ast.walk(tree))


def test_the_checks_find_what_they_look_for(tmp_path, monkeypatch):
    """The checks themselves see a cycle, an upward import, a status literal and a long
    class."""
    edges: dict[str, dict[str, str]] = {s: {} for s in NAS_SUBPACKAGES}
    edges["nas.search"]["nas.experiments"] = "a"
    edges["nas.experiments"]["nas.reports"] = "b"
    edges["nas.reports"]["nas.search"] = "c"
    assert _cycles(edges) == [["nas.search", "nas.experiments", "nas.reports", "nas.search"]]
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    probe = tmp_path / "predictors" / "probe.py"
    probe.parent.mkdir()
    body = "\n".join(["    x = 1"] * MAX_CLASS_LINES)
    probe.write_text(
        f'from nas.search import records\nfrom models.engine import x\nstatus = "lost"\n'
        f"class Big:\n{body}\nfrom models.cells import CELLS\n",
        encoding="utf-8",
    )
    assert [o.split(" imports ")[1] for o in _upward_imports(probe)] == [
        "nas.search.records",
        "models.engine.x",
    ]
    assert _status_literals(probe) == ["predictors/probe.py:3 spells 'lost'"]
    assert _size_offences(probe) == [
        f"predictors/probe.py:4 class Big has {MAX_CLASS_LINES + 1} lines (> {MAX_CLASS_LINES})"
    ]
