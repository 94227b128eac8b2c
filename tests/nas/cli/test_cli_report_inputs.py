"""`nas report` with a bad --prune-match file (issue 32, item 6a): one `error:` line, exit 2,
no traceback, and no report folder made, whether given by --out or the default
RUN_DIR/report."""

import shutil

import pytest
from typer.testing import CliRunner

from nas.cli import app

runner = CliRunner()
HEADER = "nodes,edges,layer_sizes,dense_retrained_acc,sparse_rnn_acc,sparsity\n"
FILES = {
    "binary": b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xc3(" * 64,
    "bytes": bytes(range(256)) * 8,
    "empty": b"",
    "other table": b"a,b\n1,2\n",
    "not numbers": (HEADER + '10,12,"[3, 4]",high,0.5,0.9\n').encode(),
}
CASES = [
    ("binary", "cannot read prune match file '{path}' as a CSV table (UnicodeDecodeError"),
    ("bytes", "cannot read prune match file '{path}' as a CSV table (UnicodeDecodeError"),
    ("empty", "prune match file '{path}' is empty"),
    ("other table", "prune match file '{path}' is not a `nas prune --match` result: it lacks "
     "nodes, edges, layer_sizes, dense_retrained_acc, sparse_rnn_acc, sparsity"),
    ("not numbers", "prune match file '{path}' has a value that is not a number in column "
     "'dense_retrained_acc'"),
    (None, "prune match file '{path}' does not exist"),
]  # fmt: skip


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A copy of the tiny run, so the default report folder inside it can be checked."""
    out, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("report*", "prune*"))
    return copy


@pytest.mark.parametrize("default_out", [False, True], ids=["--out", "RUN_DIR/report"])
@pytest.mark.parametrize(("name", "message"), CASES, ids=[str(n) for n, _ in CASES])
def test_a_bad_prune_match_file_is_one_error_line_and_writes_nothing(
    name, message, default_out, run_copy, tmp_path
):
    path = tmp_path / f"{name or 'missing'}.csv"
    if name is not None:
        path.write_bytes(FILES[name])
    folder = run_copy / "report" if default_out else tmp_path / "out" / "report"
    args = ["report", str(run_copy), "--prune-match", str(path)]
    result = runner.invoke(app, args + ([] if default_out else ["--out", str(folder)]))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.format(path=path) in lines[0]
    assert result.stdout == "" and "Traceback" not in result.output
    assert not folder.exists() and not (tmp_path / "out").exists()
