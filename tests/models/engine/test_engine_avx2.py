"""The AVX2 build (``-march=x86-64-v3``, what machines without AVX-512 run) compiled and held
to the reference loop on this machine, whatever its own instruction set: CI checks the
8-lane paths even where the native build would take the 16-lane ones. One compile."""

import platform

import pytest
import torch
from conftest import KERNEL_USERS
from engine_oracle import assert_training_matches_alone
from step_oracle import assert_fused_step_matches

import models.fused
from models.cells import CELLS
from models.fused import build_name, instruction_set, kernel_for

AVX2 = "x86-64-v3"
pytestmark = [
    pytest.mark.slow,  # one compile of its own
    pytest.mark.skipif(
        platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 levels only"
    ),
]


@pytest.fixture(scope="module")
def avx2_kernel():
    kernel = kernel_for(AVX2)
    assert kernel is not None, "the AVX2 build failed"
    return kernel


@pytest.fixture
def on_avx2(avx2_kernel, recurrence, monkeypatch):
    """The engine on the AVX2 build (once: the PyTorch recurrence has no build to test)."""
    if recurrence == "torch":
        pytest.skip("tests the compiled AVX2 build")
    for module in (*KERNEL_USERS, models.fused):  # models.fused runs the recurrence calls
        monkeypatch.setattr(module, "fused_kernel", lambda: avx2_kernel)
    return avx2_kernel


def test_the_avx2_build_is_a_build_of_its_own_and_says_so(on_avx2):
    assert instruction_set(on_avx2) == "avx2"
    assert instruction_set(models.fused.fused_kernel()) == "avx2"  # what the engine calls
    assert build_name(AVX2) != build_name("native")
    assert instruction_set(None) == "pytorch"


@pytest.mark.parametrize(
    ("tokens", "vocab"),
    [(True, 7), (True, 27), (False, 0)],
    ids=["8-token-table", "28-token-table", "real"],  # with the idle token: permute, gather
)
@pytest.mark.parametrize("cell", CELLS)
def test_the_avx2_build_trains_as_each_network_alone(on_avx2, cell, tokens, vocab):
    """Outputs, every gradient and Adam's state of 7 networks (9 rows: one 8-lane vector
    and a tail), two steps, against each network alone in single precision."""
    assert_training_matches_alone(cell, 7, tokens, torch.float32, vocab=vocab or 7)


@pytest.mark.parametrize(
    ("tokens", "vocab"),
    [(True, 7), (True, 27), (False, 0)],
    ids=["8-token-table", "28-token-table", "real"],
)
@pytest.mark.parametrize("cell", CELLS)
def test_the_avx2_builds_fused_step_trains_as_the_pytorch_step(
    on_avx2, monkeypatch, cell, tokens, vocab
):
    """The fused training step of the AVX2 build against the PyTorch step, three batches of
    7 networks in single precision (step_oracle.py)."""
    assert_fused_step_matches(cell, 7, tokens, torch.float32, monkeypatch, vocab=vocab or 7)
