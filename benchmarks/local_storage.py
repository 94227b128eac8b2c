"""Which storage holds up better for local workers: SQLite (WAL, as ``nas search`` opens it)
or Optuna's journal file (``JournalFileBackend``)?

Starts ``--workers`` processes on one study; each asks for ``--trials / workers`` trials and
gives each what a search trial gets (a heartbeat on SQLite, 12 user attributes, a tell), with
no training, so only the storage is measured. Prints trials per second (from the first ask
to the last tell of all workers) and errors per storage.

    python benchmarks/local_storage.py --workers 4 8 --trials 400
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _open(kind: str, folder: Path):
    import optuna

    if kind == "sqlite":
        from nas.search.storage import open_storage

        return open_storage(f"sqlite:///{folder / 'study.db'}")
    backend = optuna.storages.journal.JournalFileBackend(str(folder / "journal.log"))
    return optuna.storages.JournalStorage(backend)


def worker(kind: str, folder: Path, trials: int) -> None:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    storage = _open(kind, folder)
    study = optuna.load_study(study_name="bench", storage=storage)
    errors = 0
    began = time.time()
    for index in range(trials):
        try:
            trial = study.ask()
            if kind == "sqlite":
                storage.record_heartbeat(trial._trial_id)
            for key in range(12):
                trial.set_user_attr(f"a{key}", index * key)
            study.tell(trial, float(index))
        except Exception as exc:  # noqa: BLE001 (counted)
            errors += 1
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    print(json.dumps({"errors": errors, "began": began, "ended": time.time()}))


def run(kind: str, workers: int, trials: int) -> dict:
    import optuna

    folder = Path(tempfile.mkdtemp(prefix=f"storage-{kind}-"))
    optuna.create_study(study_name="bench", storage=_open(kind, folder))
    command = [sys.executable, __file__, "--worker", kind, str(folder), str(trials // workers)]
    began = time.perf_counter()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    outs = [proc.communicate()[0] for proc in procs]
    wall = time.perf_counter() - began
    ends = [json.loads(out.strip().splitlines()[-1]) for out in outs if out.strip()]
    errors = sum(end["errors"] for end in ends)
    # from the first ask to the last tell: process start-up (imports) is not the storage
    busy = max(end["ended"] for end in ends) - min(end["began"] for end in ends)
    done = len(optuna.load_study(study_name="bench", storage=_open(kind, folder)).get_trials())
    return {"storage": kind, "workers": workers, "trials": done, "errors": errors,
            "wall_seconds": round(wall, 1), "busy_seconds": round(busy, 1),
            "trials_per_second": round(done / busy, 1)}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    for workers in args.workers:
        for kind in ("sqlite", "journal"):
            print(json.dumps(run(kind, workers, args.trials)), flush=True)


if __name__ == "__main__":
    main()
