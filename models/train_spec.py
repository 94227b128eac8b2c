"""``TrainSpec``, how to train, and its device check: torch-free, so the command line can
read the defaults and refuse a bad setting before torch is imported (``models.training``
trains with it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from core.checks import check_int, check_real
from core.errors import SparseNASError
from graphs.dag import check_readout


@dataclass(frozen=True)
class TrainSpec:
    """How to train: the thesis' settings by default (Adam 1e-3, 15 epochs, clip 5, the
    read-out of the DAG's last layer).

    ``readout`` (graphs.dag.READOUTS) shapes the Sparse-RNN the engine builds, not the dense
    networks: it is here because it is chosen per task with the other settings
    (``nas.tasks.TASK_TRAINING``) and travels with them to every network a command trains.
    """

    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3
    clip_norm: float = 5.0
    device: str = "auto"
    readout: str = "last"

    def __post_init__(self) -> None:
        check_int(self.epochs, "epochs", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_real(self.lr, "lr", low=0.0, low_open=True)
        check_real(self.clip_norm, "clip_norm", low=0.0, low_open=True)
        check_device(self.device)
        check_readout(self.readout)


def check_device(device: object) -> str:
    """``device`` if it names one: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise SparseNASError(f"unknown device {device!r}; choose auto, cpu, cuda or cuda:N")
    return device


SETTINGS = ("epochs", "batch_size", "lr", "readout")
"""The settings a task may give its own default for (``with_defaults``)."""


def with_defaults(
    defaults: Mapping[str, int | float | str], **given: int | float | str | None
) -> dict[str, int | float | str]:
    """Every one of SETTINGS: its ``given`` value, else ``defaults``' (a task's own), else
    TrainSpec's. A given value is never replaced, so an explicit setting always wins."""
    unknown = sorted(set(given) - set(SETTINGS)) or sorted(set(defaults) - set(SETTINGS))
    if unknown:
        raise SparseNASError(f"unknown training setting {unknown[0]!r}; choose from {SETTINGS}")
    settings = {f.name: f.default for f in fields(TrainSpec) if f.name in SETTINGS}
    settings.update(defaults)
    settings.update({name: value for name, value in given.items() if value is not None})
    return settings  # type: ignore[return-value]
