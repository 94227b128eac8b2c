"""Local workers for ``nas search --workers N``: N processes sharing one study.

A 2-core machine trains faster as two single-threaded processes than as one process with two
threads (the engine's operations are small, so a second thread buys little). The command
that the user ran is worker 0; it starts workers 1..N-1 as ``nas search`` subprocesses with
the same settings, ``--seed S+i`` and one thread each, which claim trials from the shared
study like workers on other machines would (see the README's scaling-out section). Their
output goes to ``<out>/workers/worker-i.log``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graphs.errors import SparseNASError
from nas.search import SearchSpec

WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def check_workers(workers: int, storage: str) -> int:
    """``workers`` if at least 1 and the storage can be shared between processes."""
    if workers < 1:
        raise SparseNASError(f"--workers must be at least 1 (got {workers})")
    if workers > 1 and (storage == "sqlite://" or storage.startswith("sqlite:///:memory:")):
        raise SparseNASError("--workers > 1 needs a storage other processes can open")
    return workers


def worker_arguments(spec: SearchSpec, index: int) -> list[str]:
    """``nas search`` options that make worker ``index`` join the study ``spec`` describes."""
    args = [
        "search",
        f"--budget={spec.budget}",
        f"--cell={spec.cell}",
        f"--task={spec.task}",
        f"--epochs={spec.epochs}",
        f"--strategy={spec.strategy}",
        f"--objective={spec.objective}",
        f"--nodes={spec.nodes[0]}:{spec.nodes[1]}",
        f"--families={','.join(spec.families)}",
        f"--storage={spec.storage}",
        f"--study={spec.study}",
        f"--out={spec.out}",
        f"--seed={spec.seed + index}",
        "--workers=1",
        "--json",
    ]
    if spec.warm_start is not None:
        args.append(f"--warm-start={spec.warm_start}")
    return args


def start_workers(spec: SearchSpec, count: int) -> list[subprocess.Popen]:
    """Start workers 1..count, each with one thread and its own log file."""
    folder = Path(spec.out) / "workers"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **WORKER_ENV}
    procs = []
    for index in range(1, count + 1):
        with open(folder / f"worker-{index}.log", "w") as log:  # the child keeps its copy
            command = [sys.executable, "-m", "nas.cli", *worker_arguments(spec, index)]
            procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    return procs


def wait_workers(procs: list[subprocess.Popen]) -> list[int]:
    """Wait for every worker; their exit codes."""
    return [proc.wait() for proc in procs]
