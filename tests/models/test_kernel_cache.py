"""The compiled kernel's cache entry: one per distinct build, and no hang on a stale lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

import models.fused
from models.fused import build_key, build_name, fused_kernel, kernel_arch

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("-O3", "-fopenmp")


def test_each_input_of_a_build_changes_its_key():
    base = build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", FLAGS)
    assert base == build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", FLAGS)
    others = {
        build_key(b"int g();", "2.13.0+cpu", "cpython-3.11", FLAGS),
        build_key(b"int f();", "2.14.1", "cpython-3.11", FLAGS),
        build_key(b"int f();", "2.13.0+cpu", "cpython-3.12", FLAGS),
        build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", ("-O2", "-fopenmp")),
        build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", FLAGS, ("/venv-a/torch",)),
    }
    assert base not in others and len(others) == 5
    # another install of the same torch (its headers elsewhere) is another build
    one = build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", FLAGS, ("/venv-a/torch",))
    assert one != build_key(b"int f();", "2.13.0+cpu", "cpython-3.11", FLAGS, ("/venv-b/torch",))


def test_the_build_name_follows_this_source_and_torch():
    name = build_name()
    assert (
        name.startswith("sparse_nas_recurrence_")
        and len(name) == len("sparse_nas_recurrence_") + 16
    )
    assert name == build_name()


def _build_folder() -> Path:
    from torch.utils.cpp_extension import get_default_build_root

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root()
    return Path(root) / build_name(kernel_arch())


def test_the_build_compiles_a_copy_of_the_source_in_its_own_folder():
    """PyTorch's build file names the source by path: compiling each checkout's own file
    would make two checkouts of one source rebuild each other's kernel on every switch."""
    assert fused_kernel() is not None
    folder = _build_folder()
    copy = folder / models.fused.SOURCE.name
    assert copy.read_bytes() == models.fused.SOURCE.read_bytes()
    ninja = (folder / "build.ninja").read_text()
    assert str(copy) in ninja and str(models.fused.SOURCE) not in ninja


@pytest.mark.slow
def test_a_stale_lock_left_by_a_killed_build_is_cleared():
    """PyTorch waits forever on a leftover ``lock`` file; a fresh process must clear it and
    load the kernel already built by this test run, without building it again (what makes it
    quick; the timeout only turns a hang into a failure, it bounds nothing)."""
    assert fused_kernel() is not None
    folder = _build_folder()
    built = [folder / f"{build_name(kernel_arch())}.so", folder / "recurrence.o"]
    before = [path.stat().st_mtime_ns for path in built]
    (folder / "lock").write_text("")
    code = "import models.fused as f; assert f.fused_kernel() is not None; print('loaded')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout and "unavailable" not in result.stderr
    assert not (folder / "lock").exists()
    assert [path.stat().st_mtime_ns for path in built] == before  # loaded, not rebuilt


def test_a_build_lock_held_too_long_falls_back_with_one_warning(monkeypatch):
    assert fused_kernel() is not None
    folder = _build_folder()
    holder = os.open(folder / "build.flock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file description: a different holder
    try:
        monkeypatch.setattr(models.fused, "BUILD_WAIT_SECONDS", 0.3)
        with pytest.warns(RuntimeWarning, match="build lock"):
            assert models.fused.fused_kernel.__wrapped__() is None
    finally:
        os.close(holder)


def test_the_arch_setting_picks_march_and_a_build_of_its_own(monkeypatch):
    monkeypatch.delenv(models.fused.ARCH_ENV, raising=False)
    assert kernel_arch() == "native"
    monkeypatch.setenv(models.fused.ARCH_ENV, "x86-64-v3")
    assert kernel_arch() == "x86-64-v3"
    assert "-march=x86-64-v3" in models.fused.cflags(kernel_arch())
    assert build_name("x86-64-v3") != build_name("native")
    assert build_name("x86-64-v3") != build_name("x86-64-v2")


def test_a_bad_arch_setting_falls_back_with_one_warning(monkeypatch):
    """The value reaches the compiler's command line: anything but an -march name is
    refused before a build starts."""
    monkeypatch.setenv(models.fused.ARCH_ENV, "native -O0")
    with pytest.raises(ValueError, match="SPARSE_NAS_KERNEL_ARCH"):
        kernel_arch()
    with pytest.warns(RuntimeWarning, match="SPARSE_NAS_KERNEL_ARCH") as caught:
        assert models.fused.fused_kernel.__wrapped__() is None
    assert len(caught) == 1
