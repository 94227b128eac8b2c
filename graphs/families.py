"""Graph families: one definition each, in one registry that everything else iterates over.

A ``Family`` holds what the rest of the project needs to know about it: its name, a one-line
description, its parameters (each with its thesis default and its search range as functions of
the node count), the check of its arguments and its builder (a generator function). ``GraphSpec``
(``graphs.generators``), the search space (``nas.search.space``), the evaluations table and the
CLI's options and help texts read the registry ``FAMILIES``, so none of them names a family.

One vocabulary: a parameter keeps the family's own short name (``k``, ``p``, ``m``), which is a
field of ``GraphSpec``, a column of the evaluations table and an option of ``nas evaluate``. The
search alone prefixes it with the family (``search_name``: ``ws_p``, ``er_p``), so that TPE never
mixes a Watts-Strogatz rewiring probability with an Erdos-Renyi edge probability.

Adding a family: write its generator and its ``Family`` and ``register`` it in one module (the
built-ins do so in ``graphs.generators``), and import that module in ``graphs/__init__.py`` so it
is registered whenever ``graphs`` is imported. Registration order is the order of choices,
defaults and seeds (``nas sample`` seeds family i with its index), so new families come last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from core.checks import check_choice
from core.errors import SparseNASError

if TYPE_CHECKING:
    import networkx as nx

Number = int | float

SLOTS: tuple[str, ...] = ("k", "p", "m")
"""The parameter names ``GraphSpec`` has fields for (table columns, ``nas evaluate`` options)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a family.

    ``default(n)`` is the thesis preset for ``n`` nodes (it raises when no default fits ``n``);
    ``search(n)`` is the inclusive range the search draws from, on a grid of ``step`` for an
    int with a step (Optuna's ``step``; the range then starts at a multiple of it). ``label``
    and ``default_text`` make the help text, e.g. "WS ring degree (default: nodes // 5)".
    """

    name: str
    kind: type[int] | type[float]
    label: str
    default: Callable[[int], Number]
    default_text: str
    search: Callable[[int], tuple[Number, Number]]
    step: int | None = None


@dataclass(frozen=True)
class Family:
    """A graph family: parameters, argument check and builder.

    ``check(n, **values)`` returns ``(n, *values)`` normalised, in parameter order, and raises
    ``SparseNASError`` naming a bad value; ``build(n, **values, seed=seed)`` draws the graph.
    """

    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    check: Callable[..., tuple]
    build: Callable[..., nx.Graph]

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters' names, in order."""
        return tuple(parameter.name for parameter in self.parameters)


def search_name(family: str, parameter: str) -> str:
    """The search's (Optuna's) name of a family parameter: ``ws_k``, ``er_p``."""
    return f"{family}_{parameter}"


class FamilyRegistry(Sequence[str]):
    """The registered families: a read-only sequence of their names in registration order (so
    ``check_choice``, ``", ".join`` and ``in`` treat it as the tuple of names it replaced),
    plus ``register`` and ``get``."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}

    def register(self, family: Family) -> Family:
        """Add ``family``; its name must be new and its parameter names in ``SLOTS``."""
        if not family.name.isidentifier() or "_" in family.name:
            raise SparseNASError(f"a family name is a word without '_' (got {family.name!r})")
        if family.name in self._families:
            raise SparseNASError(f"graph family {family.name!r} is registered already")
        unknown = [name for name in family.names if name not in SLOTS]
        if unknown or len(set(family.names)) != len(family.names):
            raise SparseNASError(
                f"family {family.name!r} parameters must be distinct names among "
                f"{', '.join(SLOTS)} (GraphSpec's fields; got {', '.join(family.names)})"
            )
        self._families[family.name] = family
        return family

    def unregister(self, name: str) -> Family:
        """Remove a family (tests and plugins); returns it."""
        return self._families.pop(self.get(name).name)

    def get(self, name: object) -> Family:
        """The family called ``name``; an unknown name raises, listing the choices."""
        return self._families[check_choice(name, "graph family", self)]

    def parameter_names(self) -> tuple[str, ...]:
        """Every family's parameter names, each once, in registration order (``k, p, m``)."""
        return tuple(dict.fromkeys(n for family in self._families.values() for n in family.names))

    def option_help(self, name: str) -> str:
        """The help text of the option ``--<name>``, over the families that take it: "WS
        rewiring or ER edge probability (default: 1, or 2 ln(n)/n for ER)"."""
        users = [
            (family.name.upper(), parameter)
            for family in self._families.values()
            for parameter in family.parameters
            if parameter.name == name
        ]
        labels = [f"{tag} {parameter.label}" for tag, parameter in users]
        last_words = {label.rsplit(" ", 1)[-1] for label in labels}
        if len(labels) > 1 and len(last_words) == 1:  # "WS rewiring or ER edge probability"
            labels = [label.rsplit(" ", 1)[0] for label in labels[:-1]] + labels[-1:]
        defaults = [users[0][1].default_text] if users else []
        defaults += [f"or {parameter.default_text} for {tag}" for tag, parameter in users[1:]]
        return f"{' or '.join(labels)} (default: {', '.join(defaults)})."

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return tuple(self._families)[index]

    def __len__(self) -> int:
        return len(self._families)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._families))

    def __contains__(self, name: object) -> bool:
        return name in self._families

    def __repr__(self) -> str:
        return f"FamilyRegistry({', '.join(self._families)})"


FAMILIES = FamilyRegistry()
"""Every graph family, by name (``ws``, ``ba``, ``er`` are registered by ``graphs.generators``)."""

register = FAMILIES.register
