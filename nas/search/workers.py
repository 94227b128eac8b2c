"""Local workers for ``run_search(spec, workers=N)``: N processes sharing one study.

A 2-core machine trains faster as two single-threaded processes than as one process with two
threads (the engine's operations are small, so a second thread buys little). The calling
process is worker 0; it starts workers 1..N-1 as ``python -m nas.search.workers`` processes
that receive the resolved spec as JSON with seed ``S+i``, run with one thread each, and claim
trials from the shared study like workers on other machines would (docs/search.md, scaling
out). Their output goes to ``<out>/workers/worker-i.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from core.checks import check_int
from core.errors import SparseNASError

WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
STOP_GRACE = 30
"""Seconds a worker gets to end by itself (on Ctrl-C the terminal signals every worker)."""
START_WAIT = 120
"""Seconds worker 0 waits at most for the others to be ready (imports take a while)."""
SPEC_ENV = "SPARSE_NAS_WORKER_SPEC"
"""The environment variable that hands a worker its spec as JSON."""
READY = "worker pid"
"""How a worker's log starts once it is ready to ask for trials (its task loaded and the
study open)."""


def check_workers(workers: int, storage: str) -> int:
    """``workers`` if at least 1 and the storage can be shared between processes."""
    check_int(workers, "workers", low=1)
    if workers > 1 and (storage == "sqlite://" or storage.startswith("sqlite:///:memory:")):
        raise SparseNASError("several workers need a storage other processes can open")
    return workers


def worker_spec(spec, index: int):
    """The spec worker ``index`` runs: the same search with seed ``spec.seed + index``."""
    return replace(spec, seed=spec.seed + index)


class LocalWorkers(list):
    """The worker processes started by ``local_workers`` (a list of ``Popen``)."""

    def __init__(self, procs: list[subprocess.Popen], log_dir: Path) -> None:
        super().__init__(procs)
        self.log_dir = log_dir

    def wait(self) -> list[int]:
        """Wait for every worker; a worker that failed becomes a UserWarning naming its log."""
        codes = [proc.wait() for proc in self]
        failed = [str(i) for i, code in enumerate(codes, start=1) if code != 0]
        if failed:
            warnings.warn(
                f"worker(s) {', '.join(failed)} failed; see {self.log_dir}/", stacklevel=2
            )
        return codes

    def wait_ready(self, timeout: float = START_WAIT) -> None:
        """Wait until every worker is ready to ask for trials (or has ended), so that at a
        small budget worker 0 does not take every network while the others still import."""
        deadline = time.monotonic() + timeout
        for index, proc in enumerate(self, start=1):
            log = self.log_dir / f"worker-{index}.log"
            while proc.poll() is None and time.monotonic() < deadline:
                if READY in log.read_text(errors="replace"):
                    break
                time.sleep(0.2)

    def stop(self) -> None:
        """Let workers still running end as after Ctrl-C (theirs, or ours sent now)."""
        for proc in self:
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                proc.wait()


@contextmanager
def local_workers(spec, count: int) -> Iterator[LocalWorkers]:
    """Start workers 1..count for ``spec`` (resolved), each with one thread and its own log
    file; on leaving, workers still running get ``STOP_GRACE`` seconds, then Ctrl-C."""
    log_dir = Path(spec.out) / "workers"
    procs: list[subprocess.Popen] = []
    if count > 0:
        import torch  # this process becomes a one-thread worker too

        torch.set_num_threads(1)
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **WORKER_ENV}
        for index in range(1, count + 1):
            # The spec (its storage URL may hold a password) goes through the environment,
            # which only this user can read, never the command line, which ``ps`` shows all.
            config = json.dumps(worker_spec(spec, index).to_json())
            command = [sys.executable, "-m", "nas.search.workers", str(count + 1)]
            with open(log_dir / f"worker-{index}.log", "w") as log:  # the child keeps its copy
                procs.append(
                    subprocess.Popen(
                        command, stdout=log, stderr=subprocess.STDOUT, env={**env, SPEC_ENV: config}
                    )
                )
    workers = LocalWorkers(procs, log_dir)
    try:
        yield workers
    finally:
        workers.stop()


def main(argv: list[str]) -> int:
    """A worker process: run the search whose spec is the JSON in the environment variable
    ``SPEC_ENV`` (``argv[0]``: how many local workers share it); prints a line when it starts
    and one JSON line (study, seed, networks done) when it ends."""
    import optuna

    # Imported here: nas.search.loop imports this module to start the workers.
    from nas.search.loop import SearchInterrupted, run_search
    from nas.search.records import networks_done
    from nas.search.spec import SearchSpec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        spec = SearchSpec.from_json(json.loads(os.environ[SPEC_ENV]))
        peers = int(argv[0]) if argv else 1

        def ready(event) -> None:  # task loaded, study open: its first ask comes next
            if event.kind == "start":
                print(f"{READY} {os.getpid()}: study {spec.study!r}, seed {spec.seed}", flush=True)

        study = run_search(spec, ready, write_config=False, peers=peers)
    except SparseNASError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    except SearchInterrupted as stop:
        print(f"interrupted: {stop.done} networks kept", flush=True)
        return 130
    done = networks_done(study.get_trials(deepcopy=False))
    print(json.dumps({"study": spec.study, "seed": spec.seed, "done": done}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
