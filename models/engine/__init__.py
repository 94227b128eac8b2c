"""Train many Sparse-RNNs at once, each exactly as if it were trained alone.

K candidate networks share one program: their weights are stacked into (K, ...) tensors padded
to a common neuron count (the trainable ones in one flat leaf, so the optimizer's update is
a handful of operations), and the recurrence runs on the wavefront schedule of
:mod:`models.sparse_rnn`: by the compiled loop of :mod:`models.fused` (one multiply-add per
edge, fused cell math, all K candidates in one call) wherever it builds, else by
:class:`models.recurrence.WavefrontRecurrence` (batched dense products, hand-written
backward). Tiny networks are all overhead on a CPU, so sharing each call between K networks
is where the rest of the speed comes from.

One module per job: ``layout`` (the stacked tensors), ``drive`` (what the recurrences read
and the read-out), ``autograd`` (the forward pass and its gradients), ``optimizer``
(``StackedAdam``), ``step`` (one training or evaluation batch: the fused compiled step or
the PyTorch one), ``planning`` (padded sizes, stacks in depth order, slot count) and
``stream`` (continuous batching: candidates join and leave the stack at epoch boundaries).
"""

from models.engine.layout import StackedSparseRNN
from models.engine.optimizer import ADAM_BETAS, ADAM_EPS, StackedAdam
from models.engine.planning import (
    MAX_AUTO_SLOTS,
    MEMORY_SHARE,
    auto_slots,
    depth_groups,
    stack_sizes,
)
from models.engine.stream import (
    Candidate,
    EndCallback,
    EpochCallback,
    Feed,
    StackError,
    train_many,
    train_stream,
)

__all__ = [
    "ADAM_BETAS",
    "ADAM_EPS",
    "MAX_AUTO_SLOTS",
    "MEMORY_SHARE",
    "Candidate",
    "EndCallback",
    "EpochCallback",
    "Feed",
    "StackError",
    "StackedAdam",
    "StackedSparseRNN",
    "auto_slots",
    "depth_groups",
    "stack_sizes",
    "train_many",
    "train_stream",
]
