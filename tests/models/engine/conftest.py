"""Every engine test runs on both recurrences: the compiled one (models/fused.py) and the
PyTorch one (models/recurrence.py) that machines without a compiler fall back to."""

import pytest

import models.engine.autograd
import models.engine.drive
import models.engine.optimizer
import models.engine.step
import models.engine.stream

#: The engine modules that ask for the compiled kernel.
KERNEL_USERS = (models.engine.autograd, models.engine.drive, models.engine.optimizer,
                models.engine.step, models.engine.stream)  # fmt: skip


@pytest.fixture(autouse=True, params=["fused", "torch"])
def recurrence(request, monkeypatch):
    """Run the test on the compiled recurrence, then on the PyTorch fallback."""
    if request.param == "torch":
        for module in KERNEL_USERS:
            monkeypatch.setattr(module, "fused_kernel", lambda: None)
    return request.param
