"""StackedAdam: the compiled step equals the PyTorch one."""

import pytest
import torch

import models.engine.optimizer
from models.engine import StackedAdam
from models.fused import fused_kernel


def test_the_compiled_adam_step_equals_the_pytorch_one(recurrence):
    """One pass per row in the kernel, a dozen tensor operations in the fallback: the same
    clipped Adam update, and a row that is not live keeps its weights and moments."""
    if recurrence == "torch":
        pytest.skip("compares the compiled step with the PyTorch one")
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(3, 50, generator=generator)
    grads = [torch.randn(3, 50, generator=generator) * scale for scale in (0.1, 3.0, 1.0)]
    live = [torch.tensor([True, True, True]), torch.tensor([True, False, True])]
    finals = []
    for kernel in (fused_kernel, lambda: None):
        param = start.clone()
        adam = StackedAdam([param], 0.05, 1.0)  # clip_norm 1: the scaled gradients are clipped
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(models.engine.optimizer, "fused_kernel", kernel)
            for grad, active in zip(grads, live + live[:1], strict=True):
                param.grad = grad.clone()
                adam.step(active)
        finals.append((param, adam.exp_avg[0], adam.exp_avg_sq[0], adam.steps))
    for got, expected in zip(*finals, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    assert finals[0][2][1].ne(0).all() and finals[0][3].tolist() == [3, 2, 3]
