"""Random graph generators the Sparse-RNN wiring is drawn from.

Plain functions in the NetworkX style: sizes and probabilities first, then ``seed``, and a new
connected ``nx.Graph`` with nodes ``0..n-1`` is returned. The seed (an int, a
``numpy.random.Generator`` or None) is handed to networkx, which turns it into an RNG; passing
the same Generator to several calls draws them from one stream.

Each generator is registered as a ``graphs.families.Family`` right below it: its parameters
with their thesis defaults and search ranges. ``GraphSpec`` is the frozen, hashable
configuration of one draw of any registered family; ``thesis_spec`` and ``sample_thesis``
reproduce the thesis preset (WS, BA and ER graphs with 10 to 50 nodes).

A numpy Generator is handed to networkx wrapped in ``NumpyBitsRandom``: networkx' own adapter
with the same bits drawn without its overhead (which dominated drawing a graph), so every seed
gives the graph it gave before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from core.checks import check_fraction, check_int
from core.errors import SparseNASError
from graphs.families import FAMILIES, Family, Parameter, register

Seed = int | np.random.Generator | None

THESIS_NODES: tuple[int, int] = (10, 50)
"""Inclusive range the thesis preset draws the number of nodes from."""

MAX_NODES = 500
"""Most nodes a graph spec (and a search's node range) may ask for. Training memory grows
about as nodes cubed: by the engine's estimate (``models.engine.planning.auto_slots``: batch
32, the Reber task) one Sparse-RNN on a thesis-default WS graph needs about 4.4 GiB of
activations at 500 nodes and 29 GiB at 1,000, beyond a usual machine; the thesis used 10 to 50.
Checked before any graph is drawn, so a huge ``--nodes`` is one error line, not a full RAM."""

_THESIS_ROUNDS = 100


# -- the random stream ---------------------------------------------------------------------------


class NumpyBitsRandom(nx.utils.PythonRandomViaNumpyBits):
    """networkx' adapter of a numpy Generator to ``random.Random``, drawing the same bits faster.

    networkx' ``getrandbits(k)`` takes ``Generator.bytes``, which draws ``ceil(k / 32)``
    32-bit words with the bit generator's ``next_uint32`` and builds arrays and bytes around
    them (``random.choice`` calls it once or more per pick, so that overhead adds up). For
    ``k <= 32`` this draws the one word directly through numpy's documented ctypes interface of
    the bit generator (``BitGenerator.ctypes``: the very functions ``Generator`` calls) and
    cuts it as ``bytes`` would; ``random()`` takes ``next_double`` the same way, as
    ``Generator.random`` does. Larger ``k`` and everything else is networkx' own code. The
    tests check that graphs drawn through this adapter equal those networkx draws from the
    Generator itself.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        interface = rng.bit_generator.ctypes
        self._state = interface.state
        self._next_uint32 = interface.next_uint32
        self._next_double = interface.next_double

    def random(self) -> float:
        return self._next_double(self._state)

    def getrandbits(self, k: int) -> int:
        if not 0 < k <= 32:
            return super().getrandbits(k)
        numbytes = (k + 7) // 8
        # Generator.bytes: the word's little-endian bytes, the first numbytes kept, read
        # big-endian by networkx and trimmed to k bits.
        word = self._next_uint32(self._state).to_bytes(4, "little")[:numbytes]
        return int.from_bytes(word, "big") >> (numbytes * 8 - k)


def py_random(seed: Seed) -> Seed | NumpyBitsRandom:
    """The seed to hand a networkx generator: a numpy Generator wrapped in ``NumpyBitsRandom``
    (the same stream as networkx' own wrapping), anything else as it is."""
    if isinstance(seed, np.random.Generator):
        return NumpyBitsRandom(seed)
    return seed


# -- argument checks ---------------------------------------------------------------------------


def _check_ws(n: object, k: object, p: object) -> tuple[int, int, float]:
    n, k = check_int(n, "n"), check_int(k, "k")
    if n < 3:
        raise SparseNASError(f"a Watts-Strogatz graph needs n >= 3 nodes (got n={n})")
    if not 2 <= k < n:
        raise SparseNASError(f"k must satisfy 2 <= k < n (got k={k}, n={n})")
    return n, k, check_fraction(p, "p")


def _check_ba(n: object, m: object) -> tuple[int, int]:
    n, m = check_int(n, "n"), check_int(m, "m")
    if not 1 <= m < n:
        raise SparseNASError(f"m must satisfy 1 <= m < n (got m={m}, n={n})")
    return n, m


def _check_er(n: object, p: object) -> tuple[int, float]:
    n = check_int(n, "n")
    if n < 2:
        raise SparseNASError(f"an Erdos-Renyi graph needs n >= 2 nodes (got n={n})")
    return n, check_fraction(p, "p", allow_zero=False)


# -- generators ------------------------------------------------------------------------------


def watts_strogatz(n: int, k: int, p: float, *, seed: Seed = None, tries: int = 10) -> nx.Graph:
    """A connected Watts-Strogatz small-world graph.

    Parameters
    ----------
    n : number of nodes, at least 3.
    k : each node starts joined to its ``k // 2`` nearest ring neighbours on either side
        (so an odd ``k`` acts like ``k - 1``, as in networkx); ``2 <= k < n``.
    p : probability of rewiring each edge, in [0, 1].
    seed : int, numpy Generator or None, passed to networkx.
    tries : number of graphs drawn before giving up on a connected one.

    Raises
    ------
    SparseNASError
        If an argument is out of range or no connected graph turned up in ``tries`` draws.

    See Also
    --------
    networkx.connected_watts_strogatz_graph : the generator used here.

    References
    ----------
    .. [1] D. J. Watts and S. H. Strogatz, Collective dynamics of small-world networks,
       Nature 393, pp. 440-442, 1998.
    """
    n, k, p = _check_ws(n, k, p)
    tries = check_int(tries, "tries", low=1)
    try:
        return nx.connected_watts_strogatz_graph(n, k, p, tries=tries, seed=py_random(seed))
    except nx.NetworkXError:
        raise SparseNASError(
            f"no connected Watts-Strogatz graph in {tries} tries (n={n}, k={k}, p={p}); "
            "raise tries, k or n"
        ) from None


def barabasi_albert(n: int, m: int, *, seed: Seed = None) -> nx.Graph:
    """A Barabasi-Albert preferential-attachment graph (always connected).

    Parameters
    ----------
    n : number of nodes.
    m : edges from each new node to existing nodes, ``1 <= m < n``.
    seed : int, numpy Generator or None, passed to networkx.

    Notes
    -----
    networkx starts from a star on nodes ``0..m`` and adds node ``i`` joined to ``m`` earlier
    nodes, so every node but 0 has a lower-labelled neighbour: layered by label
    (``graphs.dag.layered_dag``), a BA graph has exactly one source node.

    References
    ----------
    .. [1] A.-L. Barabasi and R. Albert, Emergence of scaling in random networks,
       Science 286, pp. 509-512, 1999.
    """
    n, m = _check_ba(n, m)
    return nx.barabasi_albert_graph(n, m, seed=py_random(seed))


def erdos_renyi(n: int, p: float, *, seed: Seed = None, tries: int = 100) -> nx.Graph:
    """A connected Erdos-Renyi G(n, p) graph, drawn by rejection.

    Each of the ``n (n - 1) / 2`` possible edges is present independently with probability
    ``p``; disconnected draws are rejected, so the result is G(n, p) conditioned on being
    connected.

    Parameters
    ----------
    n : number of nodes, at least 2.
    p : edge probability in (0, 1]; G(n, 0) is never connected.
    seed : int, numpy Generator or None; turned into one RNG that all draws share.
    tries : number of graphs drawn before giving up.

    Raises
    ------
    SparseNASError
        If an argument is out of range or no connected graph turned up in ``tries`` draws.

    References
    ----------
    .. [1] P. Erdos and A. Renyi, On random graphs I, Publ. Math. Debrecen 6, pp. 290-297,
       1959.
    .. [2] E. N. Gilbert, Random graphs, Ann. Math. Statist. 30, pp. 1141-1144, 1959.
    """
    n, p = _check_er(n, p)
    tries = check_int(tries, "tries", low=1)
    rng = nx.utils.create_py_random_state(py_random(seed))
    for _ in range(tries):
        graph = nx.gnp_random_graph(n, p, seed=rng)
        if nx.is_connected(graph):
            return graph
    raise SparseNASError(
        f"no connected Erdos-Renyi graph in {tries} tries (n={n}, p={p}); "
        f"raise tries or p (ln(n)/n = {math.log(n) / n:.3g} is the connectivity threshold)"
    )


# -- the families: thesis defaults and search ranges ------------------------------------------
#
# ======  =========================  ===============  ==============================================
# family  parameter                  thesis default   search range (n = nodes)
# ======  =========================  ===============  ==============================================
# ws      k ring degree (even)       n // 5           2 .. the largest even number <= min(n-1, n/2)
# ws      p rewiring probability     1                [0, 1]
# ba      m edges per new node       max(1, n // 10)  1 .. max(1, n // 4)
# er      p edge probability         2 ln(n)/n        [1.2 ln(n)/n, min(1, 4 ln(n)/n)]
# ======  =========================  ===============  ==============================================
#
# The thesis preset lies inside each search range. ER is ours, not the thesis': its default is
# twice the connectivity threshold ln(n)/n of G(n, p) (at most 1) and its range starts above the
# threshold, so rejection rarely has to redraw.


def _ws_k_default(nodes: int) -> int:
    if nodes // 5 < 2:
        raise SparseNASError(
            f"family 'ws' needs k for nodes < 10, since the default k = nodes // 5 is "
            f"below 2 (got nodes={nodes})"
        )
    return nodes // 5


def ws_k_high(nodes: int) -> int:
    """Largest ring degree searched for ``nodes`` nodes (even, at least 2)."""
    return 2 * max(1, min(nodes - 1, nodes // 2) // 2)


def ba_m_high(nodes: int) -> int:
    """Largest number of edges per new BA node searched for ``nodes`` nodes."""
    return max(1, nodes // 4)


def _er_p_default(nodes: int) -> float:
    if nodes < 2:
        raise SparseNASError(f"an Erdos-Renyi graph needs n >= 2 nodes (got nodes={nodes})")
    return min(1.0, 2 * math.log(nodes) / nodes)


def er_p_range(nodes: int) -> tuple[float, float]:
    """The ER edge probabilities searched for ``nodes`` nodes."""
    threshold = math.log(nodes) / nodes
    return min(1.0, 1.2 * threshold), min(1.0, 4.0 * threshold)


register(
    Family(
        "ws", "Watts-Strogatz", "small world: a ring lattice with randomly rewired edges",
        (
            Parameter(
                "k", int, "ring degree", _ws_k_default, "nodes // 5",
                lambda n: (2, ws_k_high(n)), step=2,
            ),
            Parameter("p", float, "rewiring probability", lambda n: 1.0, "1", lambda n: (0.0, 1.0)),
        ),
        _check_ws, watts_strogatz,
    )
)  # fmt: skip
register(
    Family(
        "ba", "Barabasi-Albert", "preferential attachment: new nodes join well-linked ones",
        (
            Parameter(
                "m", int, "edges per new node", lambda n: max(1, n // 10), "max(1, nodes // 10)",
                lambda n: (1, ba_m_high(n)),
            ),
        ),
        _check_ba, barabasi_albert,
    )
)  # fmt: skip
register(
    Family(
        "er", "Erdos-Renyi", "G(n, p): each edge present independently, conditioned on connected",
        (Parameter("p", float, "edge probability", _er_p_default, "2 ln(n)/n", er_p_range),),
        _check_er, erdos_renyi,
    )
)  # fmt: skip


# -- specs and the thesis preset ---------------------------------------------------------------


@dataclass(frozen=True)
class GraphSpec:
    """One graph family with its parameters: what a trial stores to rebuild its graph.

    Parameters left as None are filled with the thesis defaults (see ``thesis_spec``), so
    ``GraphSpec("ws", 20) == GraphSpec("ws", 20, k=4, p=1.0)``. Parameters that do not apply
    to the family (``m`` for WS and ER, ``k`` for BA and ER, ``p`` for BA) must stay None.
    Every value is checked on construction, so a bad configuration fails before any draw.
    The fields are ``graphs.families.SLOTS``, the parameter names families may use.
    """

    family: str
    nodes: int
    k: int | None = None
    p: float | None = None
    m: int | None = None

    def __post_init__(self) -> None:
        family = FAMILIES.get(self.family)
        nodes = check_int(self.nodes, "nodes")
        check_int(nodes, "nodes", high=MAX_NODES)  # before the family's own checks draw anything
        given = {"k": self.k, "p": self.p, "m": self.m}
        extra = [n for n, v in given.items() if v is not None and n not in family.names]
        if extra:
            raise SparseNASError(
                f"{', '.join(extra)} does not apply to family {family.name!r} "
                f"(it takes {', '.join(family.names)})"
            )
        values = {
            parameter.name: parameter.default(nodes)
            if given[parameter.name] is None
            else given[parameter.name]
            for parameter in family.parameters
        }
        checked = family.check(nodes, **values)[1:]
        # Frozen dataclass: store the normalised values (plain int/float, JSON-friendly).
        object.__setattr__(self, "family", family.name)
        object.__setattr__(self, "nodes", nodes)
        for name, value in zip(family.names, checked, strict=True):
            object.__setattr__(self, name, value)

    def build(self, seed: Seed) -> nx.Graph:
        """Draw the graph; the same seed gives the same edges."""
        family = FAMILIES.get(self.family)
        return family.build(self.nodes, seed=seed, **{n: getattr(self, n) for n in family.names})


def thesis_spec(family: str, nodes: int) -> GraphSpec:
    """The thesis preset for ``family`` with ``nodes`` nodes: each parameter's default.

    WS: ``k = nodes // 5`` and ``p = 1``; BA: ``m = max(1, nodes // 10)``. ER is ours, not the
    thesis': ``p = min(1, 2 ln(nodes) / nodes)``, twice the connectivity threshold
    ``ln(n) / n`` of G(n, p), so rejection rarely has to redraw.
    """
    return GraphSpec(family, nodes)


def sample_thesis(family: str, seed: Seed) -> tuple[GraphSpec, nx.Graph]:
    """Draw a graph of the thesis preset: nodes uniform in [10, 50], then ``thesis_spec``.

    One numpy Generator made from ``seed`` draws the number of nodes and then the graph. Small
    WS graphs (k = 2 or 3, p = 1) are sometimes disconnected; if networkx gives up after its
    10 tries, the graph is drawn again with the same spec from the same Generator, so the
    result stays a deterministic function of ``seed`` and the node count stays uniform.

    Raises
    ------
    SparseNASError
        For an unknown family, or if 100 rounds of 10 tries found no connected graph.
    """
    FAMILIES.get(family)
    rng = np.random.default_rng(seed)
    low, high = THESIS_NODES
    spec = thesis_spec(family, int(rng.integers(low, high + 1)))
    for _ in range(_THESIS_ROUNDS):
        try:
            return spec, spec.build(rng)
        except SparseNASError:
            continue
    raise SparseNASError(f"no connected graph for {spec} in {_THESIS_ROUNDS} rounds of draws")
