"""The compiled recurrence (models/kernels/recurrence.cpp): its build, forward and backward.

The stacked engine spends its time in the per-step recurrence. The PyTorch path
(:mod:`models.recurrence`) multiplies dense padded blocks and pays one framework call per
operation; the compiled loop works on the true sparsity (one axpy per edge over the batch
rows) and fuses each cell's elementwise math, forward and backward. It is built with the
compiler PyTorch's JIT extension loader uses (g++ and ninja) into PyTorch's extension
directory, under a name keyed by everything the binary depends on (source, flags, torch and
Python versions), so two environments on one machine never rebuild each other's copy; it is
used whenever it loads, otherwise the engine falls back to the PyTorch path with a one-line
warning. ``SPARSE_NAS_KERNEL=torch`` forces that path.

``SPARSE_NAS_KERNEL_ARCH`` picks the instruction set (the compiler's ``-march``): ``native``
(the default: the machine it runs on) or a named level such as ``x86-64-v3`` (AVX2, as on
machines without AVX-512), so one machine can build, test and time both; each setting is a
build of its own, and a kernel reports what it was built for (:func:`instruction_set`).

Both paths are held equal to the reference loop by the engine's tests.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import platform
import re
import shutil
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from core.files import atomic_write

SOURCE = Path(__file__).parent / "kernels" / "recurrence.cpp"
#: Set to "torch" to use the PyTorch recurrence even where the compiled one builds.
KERNEL_ENV = "SPARSE_NAS_KERNEL"
CELL_IDS = {"rnn_tanh": 0, "rnn_relu": 1, "gru": 2, "lstm": 3}
#: The compiler's -march for the build: "native" (the default) or a level like "x86-64-v3".
ARCH_ENV = "SPARSE_NAS_KERNEL_ARCH"
DEFAULT_ARCH = "native"
_ARCH_NAME = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_EMPTY_IDS = torch.empty(0, dtype=torch.int32)
#: -fno-trapping-math lets GCC turn the exponential's clamps into selects without AVX-512's
#: masks, so the cells' loops vectorise on AVX2 too (it changes no value: nothing here traps).
OPTIMIZE_FLAGS = ("-fno-math-errno", "-fno-trapping-math", "-fno-thread-jumps", "-fopenmp")
LDFLAGS = ("-fopenmp",)
#: Longest wait for another process's build before falling back to the PyTorch path.
BUILD_WAIT_SECONDS = 600.0


def build_key(
    source: bytes,
    torch_version: str,
    python: str,
    flags: tuple[str, ...],
    paths: tuple[str, ...] = (),
) -> str:
    """A short hash of everything the compiled binary depends on: one cache entry per build.

    ``paths`` are the folders the build's command line names (torch's and Python's headers):
    PyTorch rebuilds when its build file changes, so two environments with the same torch
    version but different installs need entries of their own.
    """
    digest = hashlib.sha256(source)
    for part in (torch_version, python, *flags, *paths):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


def kernel_arch() -> str:
    """The -march of the build asked for (``SPARSE_NAS_KERNEL_ARCH``, default ``native``);
    ValueError for a value that is not an -march name (it goes onto the compiler's line)."""
    return check_arch(os.environ.get(ARCH_ENV, "").strip() or DEFAULT_ARCH)


def check_arch(arch: str) -> str:
    """``arch`` if it is an -march name (it goes onto the compiler's line), else ValueError."""
    if not _ARCH_NAME.fullmatch(arch):
        raise ValueError(f"{ARCH_ENV} must be an -march name like x86-64-v3 (got {arch!r})")
    return arch


def cflags(arch: str) -> tuple[str, ...]:
    """The compiler flags of a build for ``arch``."""
    return ("-O3", f"-march={arch}", *OPTIMIZE_FLAGS)


def _cpu() -> str:
    """What ``-march=native`` resolves from: the machine's CPU flags (so a build folder
    shared by machines of different CPUs holds one build per CPU, never a binary whose
    instructions this one lacks)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_name(arch: str = DEFAULT_ARCH) -> str:
    """The extension's module and folder name for this source, torch, Python and flags."""
    python = f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}"
    paths = (str(Path(torch.__file__).parent), sysconfig.get_paths()["include"])
    flags = cflags(arch) + LDFLAGS + ((_cpu(),) if arch == "native" else ())
    key = build_key(SOURCE.read_bytes(), torch.__version__, python, flags, paths)
    return f"sparse_nas_recurrence_{key}"


def _source_in(folder: Path) -> Path:
    """A copy of the kernel source inside the build folder, the path the build compiles.

    PyTorch's build file names the source by path, so two checkouts of one source (two
    clones, two worktrees) compiling their own file would rebuild each other's entry on every
    switch; the folder's name fixes the content, so one shared copy serves them all.
    """
    copy = folder / SOURCE.name
    source = SOURCE.read_bytes()
    if not copy.is_file() or copy.read_bytes() != source:
        atomic_write(copy, lambda tmp: tmp.write_bytes(source))
    return copy


def _hold_build_lock(folder: Path, timeout: float) -> int | None:
    """Take an exclusive ``flock`` on the build folder (the kernel frees it when its holder
    dies, so a killed build can never leave it behind); None after ``timeout`` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / "build.flock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(handle)
                return None
            time.sleep(0.2)


def _clear_stale_baton(folder: Path) -> None:
    """PyTorch's loader marks a build with a ``lock`` file and waits forever while one
    exists; a build killed midway leaves it behind. Every build of ours runs under the
    flock, so a ``lock`` file seen while holding it is such a leftover."""
    (folder / "lock").unlink(missing_ok=True)


def _ninja_on_path() -> None:
    """PyTorch's loader runs ``ninja`` from PATH; the ``ninja`` wheel puts it beside the
    interpreter, which is not on PATH when the venv is not activated."""
    if shutil.which("ninja") is not None:
        return
    candidates = [Path(sys.executable).parent]
    try:
        import ninja

        candidates.insert(0, Path(ninja.BIN_DIR))
    except (ImportError, AttributeError):
        pass
    for folder in candidates:
        if (folder / "ninja").exists():
            os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
            return


@functools.cache
def fused_kernel() -> ModuleType | None:
    """The compiled recurrence for ``SPARSE_NAS_KERNEL_ARCH``, built on first use; None
    (after one warning) if it cannot be built here or ``SPARSE_NAS_KERNEL=torch`` asks for
    the PyTorch path."""
    if os.environ.get(KERNEL_ENV, "").lower() == "torch":
        return None
    return _build(None)


@functools.cache
def kernel_for(arch: str) -> ModuleType | None:
    """The compiled recurrence built for ``-march=arch`` whatever the settings say (to test
    and time one instruction set beside another); None, after one warning, if it fails."""
    return _build(arch)


def instruction_set(kernel: ModuleType | None) -> str:
    """What ``kernel`` was built for: "avx512", "avx2" or "scalar"; "pytorch" for None."""
    return "pytorch" if kernel is None else str(kernel.instruction_set())


def _build(arch: str | None) -> ModuleType | None:
    """Build (or load the cached build of) the kernel for ``arch`` (None: the setting)."""
    handle = None
    try:
        from torch.utils.cpp_extension import get_default_build_root, load

        arch = kernel_arch() if arch is None else check_arch(arch)
        _ninja_on_path()
        name = build_name(arch)
        root = os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root()
        folder = Path(root) / name
        handle = _hold_build_lock(folder, BUILD_WAIT_SECONDS)
        if handle is None:
            raise TimeoutError(
                f"another process held the kernel build lock for {BUILD_WAIT_SECONDS:.0f} s"
            )
        _clear_stale_baton(folder)
        return load(
            name=name,
            sources=[str(_source_in(folder))],
            extra_cflags=list(cflags(arch)),
            extra_ldflags=list(LDFLAGS),
            build_directory=str(folder),
            verbose=False,
        )
    except Exception as error:  # any build failure: fall back, never stop the work
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        warnings.warn(
            f"compiled recurrence unavailable ({reason}); using the slower PyTorch path",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    finally:
        if handle is not None:
            os.close(handle)


@dataclass(frozen=True)
class FusedPlan:
    """What the compiled recurrence needs besides its differentiable tensors.

    x_edges (K, E, 4) int32 (gate row, source neuron, lag, target neuron) and x_count (K,)
    int32: every edge weight of each candidate; h_edges (K, F, 3) (gate row, neuron, target
    neuron) and h_count: every own-layer weight.
    ids : (S, K, B) int32 columns of each candidate's transposed token table (token mode),
        else None.
    layer : (K, N) int32 global step at which each neuron handles time 0 (its layer plus the
        candidate's shift); with ``length`` (the batch's longest sequence) it tells which
        neurons' work at a step can matter.
    last_time : (K, B) each row's last input position; neuron i is read after global step
        ``last_time + layer[i]``, once it has read that input.
    keep_for_backward : whether the forward keeps the states and activations the backward
        reads (only when a backward can follow).
    """

    cell: str
    lags: int
    x_edges: torch.Tensor
    x_count: torch.Tensor
    h_edges: torch.Tensor
    h_count: torch.Tensor
    layer: torch.Tensor
    length: int
    last_time: torch.Tensor
    ids: torch.Tensor | None = None
    keep_for_backward: bool = True


def edge_list(mask: torch.Tensor, *extras: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, R, C) 0/1 mask -> ((K, E, 2 + len(extras)) int32 (row, col, extra[k, row, col]
    ...) of its ones, padded per candidate to the largest count, (K,) int32 counts)."""
    k = mask.shape[0]
    where = torch.nonzero(mask, as_tuple=False)  # (nnz, 3) sorted by candidate
    counts = torch.bincount(where[:, 0], minlength=k)
    width = max(1, int(counts.max()) if len(where) else 1)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(len(where)) - starts[where[:, 0]]
    columns = [where[:, 1], where[:, 2]]
    columns += [extra[where[:, 0], where[:, 1], where[:, 2]] for extra in extras]
    edges = torch.zeros(k, width, len(columns), dtype=torch.int32)
    edges[where[:, 0], position] = torch.stack(columns, 1).to(torch.int32)
    return edges, counts.to(torch.int32)


@dataclass(frozen=True)
class SavedRecurrence:
    """What :func:`recurrence_backward` needs from its forward call."""

    plan: FusedPlan
    source: torch.Tensor
    weight_x: torch.Tensor
    weight_h: torch.Tensor
    bias_h: torch.Tensor
    states: torch.Tensor
    acts: torch.Tensor
    cells: torch.Tensor


def recurrence_forward(
    plan: FusedPlan,
    source: torch.Tensor,
    weight_x: torch.Tensor,
    weight_h: torch.Tensor,
    bias_h: torch.Tensor,
) -> tuple[torch.Tensor, SavedRecurrence | None]:
    """(drive (S, K, G*N, B) or transposed token table (K, G*N, R), effective edge weights
    (K, G*N, N), own-layer weights (K, G*N, N), hidden bias (K, G*N), all contiguous) ->
    last states (K, N, B), and what the backward needs when ``plan.keep_for_backward``; the
    contract of :class:`models.recurrence.WavefrontRecurrence` without autograd (the engine
    differentiates its whole stack in one step)."""
    kernel = fused_kernel()
    assert kernel is not None, "the compiled recurrence is not built"
    save = plan.keep_for_backward
    problem = _problem(plan, source, weight_x, weight_h, bias_h)
    states, acts, cells, last = kernel.forward(
        CELL_IDS[plan.cell], plan.lags, plan.last_time, *problem, save
    )
    if not save:
        return last, None
    return last, SavedRecurrence(plan, source, weight_x, weight_h, bias_h, states, acts, cells)


def recurrence_backward(
    saved: SavedRecurrence, grad_last: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of source, weight_x, weight_h and bias_h from that of the last states."""
    s, plan = saved, saved.plan
    return fused_kernel().backward(  # type: ignore[union-attr]
        CELL_IDS[plan.cell],
        plan.lags,
        grad_last.contiguous(),
        plan.last_time,
        s.states,
        s.acts,
        s.cells,
        *_problem(plan, s.source, s.weight_x, s.weight_h, s.bias_h),
    )


def _problem(plan: FusedPlan, source, weight_x, weight_h, bias_h) -> tuple:
    """The arguments both kernel calls share, in their order: (drive, ids, table, edge
    weights and lists, own-layer weights and lists, hidden bias, layer, length)."""
    empty = source.new_empty(0)
    tokens = plan.ids is not None
    return (
        empty if tokens else source,
        plan.ids if tokens else _EMPTY_IDS,
        source if tokens else empty,
        weight_x,
        plan.x_edges,
        plan.x_count,
        weight_h,
        plan.h_edges,
        plan.h_count,
        bias_h,
        plan.layer,
        plan.length,
    )
