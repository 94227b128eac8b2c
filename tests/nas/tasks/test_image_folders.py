"""The MNIST and CIFAR-10 folder readers, on tiny files written in the real formats: IDX (big-
endian header, gzipped or plain, also in torchvision's layout) and CIFAR-10 binary records."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import SparseNASError
from nas.tasks import load_task
from nas.tasks.folders import CIFAR_CLASSES, MNIST_FILES

N_TRAIN, N_TEST = 60, 20


def _idx(dims: tuple[int, ...], values: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000080D (D dimensions), big-endian dims, data."""
    magic = 0x800 + len(dims) if magic is None else magic
    return struct.pack(f">I{len(dims)}I", magic, *dims) + values.astype(np.uint8).tobytes()


def _mnist_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28)), np.arange(n) % 10


def write_mnist(folder: Path, gzipped: bool = False) -> dict[str, np.ndarray]:
    """The four official files in ``folder``; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n, seed in (("train", N_TRAIN, 0), ("test", N_TEST, 1)):
        images, labels = _mnist_arrays(n, seed)
        images_name, labels_name = MNIST_FILES[split]
        for name, content in (
            (images_name, _idx((n, 28, 28), images)),
            (labels_name, _idx((n,), labels)),
        ):
            data = gzip.compress(content) if gzipped else content
            (folder / (f"{name}.gz" if gzipped else name)).write_bytes(data)
        written[f"{split}_images"], written[f"{split}_labels"] = images, labels
    return written


def _rows(task_part) -> set[bytes]:
    """Each sequence's pixels as bytes, to find rows whatever order the split put them in."""
    pixels = (task_part.inputs * 255).round().to(torch.uint8).numpy()
    return {row.tobytes() for row in pixels}


@pytest.mark.parametrize("gzipped", [False, True])
def test_seq_mnist_reads_the_four_idx_files(tmp_path, gzipped) -> None:
    written = write_mnist(tmp_path, gzipped)
    task = load_task(f"seq-mnist:{tmp_path}", seed=0)
    assert task.name == "seq-mnist" and (task.n_classes, task.n_features) == (10, 28)
    assert task.vocab_size is None and task.class_names == tuple("0123456789")
    assert (len(task.train), len(task.valid), len(task.test)) == (54, 6, 20)
    for part in (task.train, task.valid, task.test):
        assert part.inputs.dtype == torch.float32 and part.inputs.shape[1:] == (28, 28)
        assert float(part.inputs.min()) >= 0.0 and float(part.inputs.max()) <= 1.0
        assert torch.all(part.lengths == 28)
    # The official test file is the test split, unshuffled into train, scaled by 1/255.
    assert torch.equal(
        task.test.inputs, torch.from_numpy(written["test_images"].astype(np.float32) / 255.0)
    )
    assert task.test.labels.tolist() == written["test_labels"].tolist()
    # Train and validation split the training file, each class kept in both.
    train_rows = {im.astype(np.uint8).tobytes() for im in written["train_images"]}
    assert _rows(task.train) | _rows(task.valid) == train_rows
    assert not _rows(task.train) & _rows(task.valid)
    assert len(set(task.valid.labels.tolist())) == 6  # stratified: 6 rows, 6 classes


def test_seq_mnist_reads_torchvisions_layout_and_splits_by_seed(tmp_path) -> None:
    write_mnist(tmp_path / "MNIST" / "raw", gzipped=True)
    first, again = (load_task(f"seq-mnist:{tmp_path}", seed=3) for _ in range(2))
    other = load_task(f"seq-mnist:{tmp_path}", seed=4)
    assert torch.equal(first.valid.inputs, again.valid.inputs)
    assert torch.equal(first.train.labels, again.train.labels)
    assert not torch.equal(first.valid.inputs, other.valid.inputs)
    assert torch.equal(first.test.inputs, other.test.inputs)  # the published test set


def test_pixel_mnist_is_the_rows_laid_end_to_end_with_the_same_split(tmp_path) -> None:
    written = write_mnist(tmp_path, gzipped=True)
    rows = load_task(f"seq-mnist:{tmp_path}", seed=2)
    pixels = load_task(f"seq-mnist-pixels:{tmp_path}", seed=2)
    assert pixels.name == "seq-mnist-pixels" and (pixels.n_classes, pixels.n_features) == (10, 1)
    for by_row, by_pixel in ((rows.train, pixels.train), (rows.valid, pixels.valid),
                             (rows.test, pixels.test)):  # fmt: skip
        assert by_pixel.inputs.shape == (len(by_row), 784, 1)
        assert torch.all(by_pixel.lengths == 784)
        assert torch.equal(by_pixel.labels, by_row.labels)
        assert torch.equal(by_pixel.inputs[:, :, 0], by_row.inputs.flatten(1))
    # step 28 * r + c of image i is its pixel (r, c), straight from the file
    first = written["test_images"][0].astype(np.float32) / 255.0
    assert pixels.test.inputs[0, 28 * 5 + 7, 0] == pytest.approx(first[5, 7])
    assert pixels.test.inputs[0, 783, 0] == pytest.approx(first[27, 27])


def _break_mnist(folder: Path, fault: str) -> str:
    """Damage one file of a good folder; returns what the error must say."""
    images = folder / "train-images-idx3-ubyte"
    labels = folder / "t10k-labels-idx1-ubyte"
    if fault == "missing":
        labels.unlink()
        return "MNIST files missing: t10k-labels-idx1-ubyte "
    if fault == "bad magic":
        images.write_bytes(_idx((N_TRAIN, 28, 28), _mnist_arrays(N_TRAIN, 0)[0], magic=0x0801))
        return "magic number 00000801, expected 00000803"
    if fault == "truncated":
        images.write_bytes(images.read_bytes()[:-100])
        return "needs"
    if fault == "count mismatch":
        labels.write_bytes(_idx((N_TEST - 1,), np.zeros(N_TEST - 1)))
        return "20 images but"
    if fault == "bad label":
        labels.write_bytes(_idx((N_TEST,), np.full(N_TEST, 12)))
        return "label 12"
    if fault == "bad gzip":
        images.unlink()
        (folder / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
        return "could not read"
    raise AssertionError(fault)


@pytest.mark.parametrize(
    "fault", ["missing", "bad magic", "truncated", "count mismatch", "bad label", "bad gzip"]
)
def test_a_bad_mnist_folder_is_one_error(tmp_path, fault) -> None:
    write_mnist(tmp_path)
    message = _break_mnist(tmp_path, fault)
    with pytest.raises(SparseNASError, match=message):
        load_task(f"seq-mnist:{tmp_path}")
    with pytest.raises(SparseNASError, match=message):
        load_task(f"seq-mnist-pixels:{tmp_path}")


def test_a_missing_folder_and_an_empty_dir_are_errors(tmp_path) -> None:
    with pytest.raises(SparseNASError, match="does not exist"):
        load_task(f"seq-mnist:{tmp_path / 'nowhere'}")
    with pytest.raises(SparseNASError, match="needs the data set's folder"):
        load_task("cifar10:")


# --- CIFAR-10 ----------------------------------------------------------------------------------


def write_cifar(folder: Path, per_batch: int = 12) -> dict[str, np.ndarray]:
    """The six binary batches in ``folder``: records of a label byte and 3,072 pixel bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    written = {}
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for index, name in enumerate(names):
        labels = (np.arange(per_batch) + index) % 10
        planes = rng.integers(0, 256, (per_batch, 3, 32, 32))  # red, green, blue planes
        records = np.concatenate([labels[:, None], planes.reshape(per_batch, -1)], axis=1)
        (folder / name).write_bytes(records.astype(np.uint8).tobytes())
        written[name] = planes, labels
    return written


@pytest.mark.parametrize("layout", ["batches folder", "its parent"])
def test_cifar10_reads_the_binary_batches(tmp_path, layout) -> None:
    written = write_cifar(tmp_path / "cifar-10-batches-bin")
    folder = tmp_path / "cifar-10-batches-bin" if layout == "batches folder" else tmp_path
    task = load_task(f"cifar10:{folder}", seed=1)
    assert task.name == "cifar10" and (task.n_classes, task.n_features) == (10, 96)
    assert task.class_names == CIFAR_CLASSES
    assert (len(task.train), len(task.valid), len(task.test)) == (54, 6, 12)
    for part in (task.train, task.valid, task.test):
        assert part.inputs.shape[1:] == (32, 96) and torch.all(part.lengths == 32)
        assert float(part.inputs.min()) >= 0.0 and float(part.inputs.max()) <= 1.0
    planes, labels = written["test_batch.bin"]
    assert task.test.labels.tolist() == labels.tolist()
    # Step r of record i is row r: pixel c's red, green, blue at features 3c, 3c+1, 3c+2.
    pixels = (task.test.inputs * 255).round().to(torch.int64).numpy()
    assert pixels[2, 5, 3 * 7 + 0] == planes[2, 0, 5, 7]
    assert pixels[2, 5, 3 * 7 + 1] == planes[2, 1, 5, 7]
    assert pixels[2, 31, 3 * 31 + 2] == planes[2, 2, 31, 31]
    assert np.array_equal(pixels.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2), planes)


def test_cifar10_split_depends_on_the_seed_only(tmp_path) -> None:
    write_cifar(tmp_path)
    first, again = (load_task(f"cifar10:{tmp_path}", seed=2) for _ in range(2))
    other = load_task(f"cifar10:{tmp_path}", seed=3)
    assert torch.equal(first.valid.inputs, again.valid.inputs)
    assert not torch.equal(first.valid.inputs, other.valid.inputs)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("missing", "data_batch_3.bin"),
        ("truncated", "not a whole number of 3073-byte"),
        ("empty", "holds 0 bytes"),
        ("bad label", "label 200"),
        ("pickles only", "data_batch_1.bin"),
    ],
)
def test_a_bad_cifar_folder_is_one_error(tmp_path, fault, message) -> None:
    write_cifar(tmp_path)
    batch = tmp_path / "data_batch_3.bin"
    if fault == "missing":
        batch.unlink()
    elif fault == "truncated":
        batch.write_bytes(batch.read_bytes()[:-1])
    elif fault == "empty":
        batch.write_bytes(b"")
    elif fault == "bad label":
        data = bytearray(batch.read_bytes())
        data[0] = 200
        batch.write_bytes(bytes(data))
    else:  # the Python version's files (no .bin) are not read
        for path in tmp_path.glob("*.bin"):
            path.rename(path.with_suffix(""))
    with pytest.raises(SparseNASError, match=message):
        load_task(f"cifar10:{tmp_path}")
