"""Plain tensor containers for sequence classification data.

Tasks (nas/tasks) build these; training (models/) consumes them. Keeping the container here,
in the lower layer, lets models/ train on any task without importing nas/.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.errors import SparseNASError


@dataclass(frozen=True)
class SequenceSet:
    """Padded sequences with their true lengths and integer class labels.

    inputs : (n, T) int64 token ids, 0 is padding and real tokens are 1..vocab_size-1;
             or (n, T, F) float32 feature vectors (padding rows are zeros).
    lengths : (n,) int64, each in [1, T]; padding always sits at the end.
    labels : (n,) int64 in [0, n_classes).
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor) -> SequenceSet:
        """Rows ``index``, trimmed to their own longest length."""
        lengths = self.lengths[index]
        longest = int(lengths.max()) if len(lengths) else 0
        return SequenceSet(self.inputs[index, :longest], lengths, self.labels[index])


@dataclass(frozen=True)
class Task:
    """A train/validation/test split of one sequence classification problem.

    Training reads ``train``; everything that chooses (the pruner, early stopping, the
    search's ranking and predictor) reads ``valid``; ``test`` is measured once per network,
    at the end, and only reported. Exactly one of ``vocab_size`` (token inputs) and
    ``n_features`` (float inputs) is set. ``vocabulary`` names the tokens of a token task
    (token id ``i + 1`` is ``vocabulary[i]``; 0 is padding) and ``class_names`` the classes,
    so that a trained network can be taken away and run on new text (``nas export`` /
    ``nas infer``).
    """

    name: str
    train: SequenceSet
    test: SequenceSet
    n_classes: int
    valid: SequenceSet | None = None
    vocab_size: int | None = None
    n_features: int | None = None
    vocabulary: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def validation(self) -> SequenceSet:
        """The validation split; a task built without one cannot be trained."""
        if self.valid is None:
            raise SparseNASError(f"task {self.name!r} has no validation split")
        return self.valid

    @property
    def uses_tokens(self) -> bool:
        return self.vocab_size is not None
