"""How long the ``nas`` command takes to refuse each bad input of the matrix.

Every case of ``tests/nas/cli/bad_input_cases.py`` (the table the tests check: one
``error:`` line, exit code 2, nothing written) runs as ``python -m nas.cli ARGS`` in a fresh
process and an empty working folder, timed from the parent (interpreter start to exit, as a
user waits for it). Prints the number of cases, the median and the slowest five; a case
that does not end with exit code 2 and one ``error:`` line is counted and listed. The input
files are written once before the timing (a predictor is trained for them).
Not a test: run it by hand and read the figures.

    python benchmarks/bad_inputs.py [--repeats 1] [--match TEXT] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The case table lives beside the test that checks it; it needs the tests' table fixtures.
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "nas" / "cli")]

from bad_input_cases import CASES, make_inputs, swap  # noqa: E402


def time_case(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, bool]:
    """Seconds ``nas argv`` took in a fresh process, and whether it kept the contract."""
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nas.cli", *argv], cwd=cwd, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    lines = result.stderr.splitlines()
    kept = result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    return seconds, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="Runs per case (median kept).")
    parser.add_argument("--match", default="", help="Only the cases whose argv holds this text.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    options = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cases = [args for args, _ in CASES if options.match in " ".join(args)]
    timings = []
    with tempfile.TemporaryDirectory() as folder:
        inputs = make_inputs(Path(folder))
        for args in cases:
            runs = []
            for _ in range(options.repeats):
                with tempfile.TemporaryDirectory() as cwd:
                    runs.append(time_case(swap(args, inputs), Path(cwd), env))
            seconds = statistics.median(s for s, _ in runs)
            timings.append({"args": args, "seconds": seconds, "kept": all(k for _, k in runs)})
    slowest = sorted(timings, key=lambda t: -t["seconds"])[:5]
    summary = {
        "cases": len(timings),
        "median_s": statistics.median(t["seconds"] for t in timings),
        "over_1s": sum(t["seconds"] > 1.0 for t in timings),
        "slowest": [{"args": " ".join(t["args"]), "seconds": t["seconds"]} for t in slowest],
        "over_1s_cases": [
            {"args": " ".join(t["args"]), "seconds": round(t["seconds"], 2)}
            for t in sorted(timings, key=lambda t: -t["seconds"])
            if t["seconds"] > 1.0
        ],
        "broken": [" ".join(t["args"]) for t in timings if not t["kept"]],
        "repeats": options.repeats,
    }
    if options.json:
        print(json.dumps(summary, indent=1))
        return
    print(f"{summary['cases']} cases, median {summary['median_s']:.2f} s, "
          f"{summary['over_1s']} over 1 s")  # fmt: skip
    for row in summary["slowest"]:
        print(f"  {row['seconds']:5.2f} s  nas {row['args']}")
    for args in summary["broken"]:
        print(f"  not one error line with exit 2: nas {args}")


if __name__ == "__main__":
    main()
