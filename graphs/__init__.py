"""Random graphs, their orientation into layered DAGs, and their properties.

Importing the package registers the graph families (``graphs.families``): each module that
defines families is imported here, so the registry is complete whatever module is imported first.
"""

from graphs import generators  # noqa: F401  (registers ws, ba, er)
