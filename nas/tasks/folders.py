"""Image data sets read from the folders their downloads unpack to: MNIST and CIFAR-10.

Both become real-valued sequence tasks read row by row, as recurrent networks are usually
tested on them: an image of R rows is R time steps of one row's pixels, scaled from 0..255
to [0, 1]; MNIST also pixel by pixel (784 steps of one value). Each keeps its published
test set; the validation split is carved from the training set (stratified, seeded by the
task seed). Every missing or malformed file is one SparseNASError naming the file and what
was expected.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from core.errors import SparseNASError
from models.data import SequenceSet, Task
from nas.tasks.encoding import split_task, task_rngs

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""The four IDX files' official names (each may also end in ``.gz``)."""
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801
"""The IDX magic numbers: unsigned bytes in 3 dimensions (images), in 1 (labels)."""
CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST = "test_batch.bin"
CIFAR_SIDE, CIFAR_CHANNELS = 32, 3
CIFAR_RECORD = 1 + CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS
"""One record of the binary version: a label byte, then 1,024 red, green and blue bytes."""
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")  # fmt: skip
N_CLASSES = 10


def make_seq_mnist_task(folder: str | Path, seed: int = 0) -> Task:
    """MNIST row by row: (n, 28, 28) float32 in [0, 1] from the four IDX files in ``folder``
    (or in torchvision's ``folder/MNIST/raw``), gzipped or not."""
    train, test = _mnist_splits(folder)
    return folder_task("seq-mnist", train, test, seed, [str(d) for d in range(N_CLASSES)])


def make_pixel_mnist_task(folder: str | Path, seed: int = 0) -> Task:
    """MNIST pixel by pixel (the long-memory benchmark): (n, 784, 1) float32 in [0, 1], the
    rows of ``make_seq_mnist_task`` laid end to end; the same files and the same split."""
    train, test = (_one_value_per_step(part) for part in _mnist_splits(folder))
    return folder_task("seq-mnist-pixels", train, test, seed, [str(d) for d in range(N_CLASSES)])


def make_cifar10_task(folder: str | Path, seed: int = 0) -> Task:
    """CIFAR-10 row by row: (n, 32, 96) float32 in [0, 1], each step a row of 32 pixels'
    red, green and blue values, from the binary batches in ``folder`` (the
    ``cifar-10-batches-bin`` folder or its parent; the Python pickles are never read)."""
    root = find_folder(folder, [".", CIFAR_FOLDER], [*CIFAR_TRAIN, CIFAR_TEST], "CIFAR-10")
    train = _concat([_cifar_batch(root / name) for name in CIFAR_TRAIN])
    return folder_task("cifar10", train, _cifar_batch(root / CIFAR_TEST), seed, CIFAR_CLASSES)


def find_folder(
    folder: str | Path, layouts: Sequence[str], names: Sequence[str], dataset: str
) -> Path:
    """The first of ``folder``'s ``layouts`` (sub-paths) holding every file of ``names``
    (each plain or gzipped); else one error naming what is missing where."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise SparseNASError(f"{dataset} folder '{folder}' does not exist or is not a folder")
    for layout in layouts:
        root = folder / layout
        if all(_data_file(root, name) is not None for name in names):
            return root
    missing = [name for name in names if _data_file(folder / layouts[0], name) is None]
    where = " or ".join(f"'{folder / layout}'" for layout in layouts)
    raise SparseNASError(
        f"{dataset} files missing: {', '.join(missing)} (plain or .gz) not found in {where} "
        "(see docs/tasks.md)"
    )


def folder_task(
    name: str, train: SequenceSet, test: SequenceSet, seed: int, class_names: Sequence[str]
) -> Task:
    """A real-valued task of a published train/test split, validation carved from train."""
    (split_rng,) = task_rngs(seed, 1)
    n_classes = len(class_names)
    for part, data in (("training", train), ("test", test)):
        if len(data) == 0:
            raise SparseNASError(f"the {name} {part} files hold no records")
        if int(data.labels.max()) >= n_classes:
            raise SparseNASError(
                f"the {name} {part} files hold label {int(data.labels.max())}; "
                f"expected 0..{n_classes - 1}"
            )
    return split_task(
        name, train, n_classes, split_rng, test=test, n_features=int(train.inputs.shape[2]),
        class_names=class_names,
    )  # fmt: skip


def pixel_sequences(images: np.ndarray, labels: np.ndarray) -> SequenceSet:
    """(n, steps, features) bytes -> float32 in [0, 1], every sequence of full length."""
    inputs = torch.from_numpy(images.astype(np.float32) / 255.0)
    lengths = torch.full((len(images),), images.shape[1], dtype=torch.int64)
    return SequenceSet(inputs, lengths, torch.from_numpy(labels.astype(np.int64)))


def _data_file(root: Path, name: str) -> Path | None:
    """``root/name`` or ``root/name.gz``, whichever exists."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when its name ends in ``.gz``."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SparseNASError(f"could not read '{path}' ({exc})") from None


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file of unsigned bytes: the magic number, one big-endian uint32 per dimension,
    then the values; a wrong magic number or a size other than the dimensions say is refused."""
    data = _read_bytes(path)
    n_dims = magic & 0xFF
    header = 4 * (1 + n_dims)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        found = data[:4].hex() if len(data) >= 4 else f"{len(data)} bytes"
        raise SparseNASError(
            f"'{path}' is not an IDX file of {n_dims}-D unsigned bytes "
            f"(magic number {found}, expected {magic:08x})"
        )
    dims = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">u4"))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise SparseNASError(
            f"'{path}' holds {len(data)} bytes; its header ({' x '.join(map(str, dims))}) "
            f"needs {expected}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _mnist_splits(folder: str | Path) -> tuple[SequenceSet, SequenceSet]:
    """The training and test files of the MNIST folder, row by row."""
    root = find_folder(folder, [".", "MNIST/raw"], [name for pair in MNIST_FILES.values()
                                                     for name in pair], "MNIST")  # fmt: skip
    train, test = (_idx_split(root, *MNIST_FILES[split]) for split in ("train", "test"))
    return train, test


def _one_value_per_step(data: SequenceSet) -> SequenceSet:
    """(n, steps, features) -> (n, steps * features, 1): each value one step, in order."""
    inputs = data.inputs.reshape(len(data), -1, 1)
    lengths = torch.full((len(data),), inputs.shape[1], dtype=torch.int64)
    return SequenceSet(inputs, lengths, data.labels)


def _idx_split(root: Path, images_name: str, labels_name: str) -> SequenceSet:
    """One split's images and labels, checked to be as many."""
    images_path, labels_path = _data_file(root, images_name), _data_file(root, labels_name)
    assert images_path is not None and labels_path is not None  # find_folder checked
    images, labels = read_idx(images_path, IDX_IMAGES), read_idx(labels_path, IDX_LABELS)
    if len(images) != len(labels):
        raise SparseNASError(
            f"'{images_path}' holds {len(images)} images but '{labels_path}' {len(labels)} labels"
        )
    return pixel_sequences(images, labels)


def _cifar_batch(path: Path) -> SequenceSet:
    """One binary batch: records of a label byte and 3,072 pixel bytes (channel planes)."""
    data = _read_bytes(path)
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise SparseNASError(
            f"'{path}' holds {len(data)} bytes, not a whole number of {CIFAR_RECORD}-byte "
            "CIFAR-10 records (truncated, or not the binary version)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    planes = records[:, 1:].reshape(-1, CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE)
    rows = planes.transpose(0, 2, 3, 1).reshape(-1, CIFAR_SIDE, CIFAR_SIDE * CIFAR_CHANNELS)
    return pixel_sequences(rows, records[:, 0])


def _concat(parts: Sequence[SequenceSet]) -> SequenceSet:
    return SequenceSet(*(torch.cat([getattr(p, f) for p in parts]) for f in
                         ("inputs", "lengths", "labels")))  # fmt: skip
