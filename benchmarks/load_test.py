"""Load test of the study's storage: many search workers against one study, no training.

Starts ``--workers`` processes (32 by default), each running the search loop of ``nas
search`` (``nas.search.loop``: stale-trial check, budget claims, ask, heartbeat, surplus
check, user attributes, tell) against one study with a budget of ``--budget`` (2,000).
Training is replaced by a lookup in a tabular pool (``benchmarks/data/pool_rnn_tanh.csv``,
1,000 trained rnn_tanh networks: the record of pool row ``hash(edge list) mod 1000``), and
exporting the out dir's tables is skipped, so the storage path itself is under load. Reports:

- trials started (the budget's unit): exactly ``--budget``, and none told twice;
- errors by kind (deadlocks, "already finished", others) from every worker's log;
- ask and tell latency per trial, p50 and p99 (ask: the stale check, the claims and the
  ask itself; tell: the result's user attributes and the tell);
- PostgreSQL: the most server connections seen (``pg_stat_activity``, sampled every 0.5 s).

    python benchmarks/load_test.py --storage postgresql+psycopg://USER@HOST/DB
    python benchmarks/load_test.py --storage sqlite:///load.db --workers 8

Writes a JSON of the figures (``--json``). The study ``load-<timestamp>`` is left in the
storage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.io import edges_to_string  # noqa: E402
from graphs.properties import PROPERTY_NAMES  # noqa: E402
from nas.search import loop  # noqa: E402
from nas.search.records import TrialStatus, counts_toward_budget  # noqa: E402
from nas.search.spec import SearchSpec  # noqa: E402
from nas.search.storage import open_study  # noqa: E402
from nas.search.strategies.base import Warm  # noqa: E402
from predictors import ALL  # noqa: E402


class TabularSearch(loop.SearchRun):
    """The search with training replaced by a pool lookup: a tabular engine that drives the
    search's scheduler through the engine's protocol (ask a stack's worth, tell each network
    its pool record), timing the asking and the telling of each trial."""

    def __init__(self, *args: Any, pool: pd.DataFrame, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.ask_seconds: list[float] = []
        self.tell_seconds: list[float] = []
        self.told: list[int] = []
        ask, finish = self.asker.ask, self.scheduler.finish

        def timed_ask(count, round_index, origin):
            began = time.perf_counter()
            batch = ask(count, round_index, origin)
            if batch:
                self.ask_seconds += [(time.perf_counter() - began) / len(batch)] * len(batch)
            return batch

        def timed_finish(entry, record, model):
            began = time.perf_counter()
            finish(entry, record, model)
            self.tell_seconds.append(time.perf_counter() - began)
            self.told.append(entry.trial.number)

        self.asker.ask = timed_ask
        self.scheduler.finish = timed_finish

    def train_stream(self):
        while batch := self.scheduler.ask(self.spec.round_size):
            for key, graph, _seed in batch:
                self.scheduler.tell(key, self.lookup(graph), None)

    def lookup(self, graph):
        row = self.pool.iloc[zlib.crc32(edges_to_string(graph).encode()) % len(self.pool)]
        acc, loss = float(row.test_acc), float(row.test_loss)  # the pool's one accuracy
        return {
            "status": TrialStatus.OK, "valid_acc": acc, "valid_loss": loss,
            "test_acc": acc, "test_loss": loss,
            "params_nonzero": int(row.params_nonzero), "params_total": int(row.params_total),
            "train_seconds": float(row.train_seconds), "epochs": int(row.epochs),
            "layer_sizes": str(row.layer_sizes), "edge_list": edges_to_string(graph),
            "history": [{"valid_acc": acc, "valid_loss": loss}],
        } | {name: row.get(name) for name in PROPERTY_NAMES}  # fmt: skip

    def export(self) -> None:  # the out dir's files are not the storage path
        pass


def worker(spec: SearchSpec, pool_path: str, peers: int, out: str) -> None:
    pool = pd.read_csv(pool_path)
    pool = pool[pool.status.eq(TrialStatus.OK)].reset_index(drop=True)
    study = open_study(spec)
    errors: Counter[str] = Counter()
    search = TabularSearch(spec, study, None, Warm(ALL), lambda event: None, peers, pool=pool)
    try:
        search.run()
    except Exception as exc:  # noqa: BLE001 (counted by kind, then reported)
        text = f"{type(exc).__name__}: {exc}".lower()
        kind = "deadlock" if "deadlock" in text else "already finished" if (
            "finished" in text) else type(exc).__name__  # fmt: skip
        errors[kind] += 1
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    Path(out).write_text(json.dumps({
        "ask": search.ask_seconds, "tell": search.tell_seconds, "told": search.told,
        "errors": dict(errors),
    }))  # fmt: skip


def _pg_connections(url: str, stop: threading.Event, peak: list[int]) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        while not stop.wait(0.5):
            count = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (parsed.database,)
            ).fetchone()[0]
            peak[0] = max(peak[0], int(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--pool", default=str(ROOT / "benchmarks/data/pool_rnn_tanh.csv"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker-spec", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_spec:
        spec = SearchSpec.from_json(json.loads(args.worker_spec))
        worker(spec, args.pool, args.workers, args.worker_out)
        return

    folder = Path(tempfile.mkdtemp(prefix="load-test-"))
    spec = SearchSpec(
        cell="rnn_tanh", budget=args.budget, strategy="random", pruner="none",
        storage=args.storage, study=f"load-{int(time.time())}", out=str(folder / "out"),
    ).resolved()  # fmt: skip
    open_study(spec)  # the schema and the study exist before the workers start
    stop, peak = threading.Event(), [0]
    watcher = None
    if args.storage.startswith("postgresql"):
        watcher = threading.Thread(target=_pg_connections, args=(args.storage, stop, peak))
        watcher.start()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    procs = []
    for index in range(args.workers):
        seeded = SearchSpec.from_json({**spec.to_json(), "seed": index})
        command = [sys.executable, __file__, "--storage", args.storage, "--pool", args.pool,
                   "--workers", str(args.workers), "--worker-spec", json.dumps(seeded.to_json()),
                   "--worker-out", str(folder / f"w{index}.json")]  # fmt: skip
        log = open(folder / f"w{index}.log", "w")  # noqa: SIM115 (the child keeps it)
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    codes = [proc.wait() for proc in procs]
    wall = time.perf_counter() - began
    stop.set()
    if watcher is not None:
        watcher.join()

    results = []
    for index in range(args.workers):
        path = folder / f"w{index}.json"
        results.append(json.loads(path.read_text()) if path.exists() else None)
    logs = " ".join((folder / f"w{i}.log").read_text().lower() for i in range(args.workers))
    errors: Counter[str] = Counter()
    for result in results:
        errors.update(result["errors"] if result else {"worker died": 1})
    errors["deadlock (in logs)"] = logs.count("deadlock")
    errors["already finished (in logs)"] = logs.count("already finished")
    told = [n for r in results if r for n in r["told"]]
    ask = np.array([s for r in results if r for s in r["ask"]]) * 1000
    tell = np.array([s for r in results if r for s in r["tell"]]) * 1000
    trials = open_study(spec).get_trials(deepcopy=False)
    figures = {
        "storage": args.storage.split("://")[0],
        "workers": args.workers,
        "budget": args.budget,
        "trials_started": sum(counts_toward_budget(t) for t in trials),
        "trials_told_twice": len(told) - len(set(told)),
        "trials_in_study": len(trials),
        "states": dict(Counter(t.state.name for t in trials)),
        "worker_exit_codes": dict(Counter(codes)),
        "errors": {k: v for k, v in errors.items() if v},
        "ask_ms_p50": float(np.percentile(ask, 50)) if len(ask) else None,
        "ask_ms_p99": float(np.percentile(ask, 99)) if len(ask) else None,
        "tell_ms_p50": float(np.percentile(tell, 50)) if len(tell) else None,
        "tell_ms_p99": float(np.percentile(tell, 99)) if len(tell) else None,
        "ask_plus_tell_ms_p50": float(np.percentile(ask + tell, 50)) if len(ask) == len(tell)
        and len(ask) else None,
        "ask_plus_tell_ms_p99": float(np.percentile(ask + tell, 99)) if len(ask) == len(tell)
        and len(ask) else None,
        "max_server_connections": peak[0] if watcher is not None else None,
        "wall_seconds": round(wall, 1),
        "trials_per_second": round(len(told) / wall, 2),
    }  # fmt: skip
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
