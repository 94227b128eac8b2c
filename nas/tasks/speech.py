"""Google Speech Commands v0.02, 12-class keyword spotting, as log-mel frame sequences.

The classes are the usual twelve (Warden 2018; TensorFlow's speech-commands example): the ten
words yes, no, up, down, left, right, on, off, stop, go, then ``_unknown_`` (clips of the
other words) and ``_silence_`` (1 s clips cut from the ``_background_noise_`` recordings).
The official ``validation_list.txt`` and ``testing_list.txt`` name the validation and test
clips; every other clip trains. As in that example, each split gets as many ``_unknown_`` and
as many ``_silence_`` clips as 10 % of its ten words' clips, drawn with the task seed; silence
clips of the three splits come from disjoint stretches of each noise recording (the first
80 % trains, the next 10 % validates, the last 10 % tests).

A clip (16 kHz mono 16-bit PCM, read with the standard library's ``wave``; shorter clips are
padded with silence to 1 s) becomes 101 frames of 40 log-mel energies: a 25 ms Hann window
every 10 ms (centred frames), power spectrum, HTK mel filters from 20 Hz to 8 kHz, natural
log. The filterbank is written here on numpy, to add no audio library to the dependencies.
"""

from __future__ import annotations

import math
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from core.errors import SparseNASError
from models.data import SequenceSet, Task
from nas.tasks.encoding import task_rngs

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
CLASSES = (*WORDS, UNKNOWN, SILENCE)
LISTS = {"valid": "validation_list.txt", "test": "testing_list.txt"}
NOISE = "_background_noise_"
FOLDER = "speech_commands_v0.02"
EXTRA_SHARE = 0.10
"""``_unknown_`` and ``_silence_`` clips per split, each as a share of its word clips."""
NOISE_STRETCHES = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}

RATE = 16000
CLIP = RATE  # samples in one clip: 1 s
WINDOW, HOP, N_MELS = 400, 160, 40  # 25 ms, 10 ms at 16 kHz
N_FFT = 512
F_MIN, F_MAX = 20.0, 8000.0
N_STEPS = 1 + CLIP // HOP


def make_speech_commands_task(folder: str | Path, seed: int = 0) -> Task:
    """The 12-class task from ``folder`` (``speech_commands_v0.02`` or its parent):
    (n, 101, 40) float32 log-mel frames, the official validation and test lists."""
    root = _find_root(Path(folder).expanduser())
    listed = {split: _read_list(root / name) for split, name in LISTS.items()}
    clips = _clips_by_split(root, listed)
    noise = [read_wav(path, min_seconds=10) for path in sorted((root / NOISE).glob("*.wav"))]
    if not noise:
        raise SparseNASError(f"no .wav recordings in '{root / NOISE}' to cut silence clips from")
    unknown_rng, silence_rng, order_rng = task_rngs(seed, 3)
    filters = mel_filters()
    parts: dict[str, SequenceSet] = {}
    for split, (known, others) in clips.items():
        n_extra = math.ceil(len(known) * EXTRA_SHARE)
        if len(others) < n_extra:
            raise SparseNASError(
                f"the {split} split has {len(others)} clips of other words; the "
                f"{UNKNOWN} class needs {n_extra} (10 % of its {len(known)} word clips)"
            )
        picked = [others[i] for i in np.sort(unknown_rng.choice(len(others), n_extra, False))]
        silence = _silence(noise, n_extra, NOISE_STRETCHES[split], silence_rng)
        frames = np.stack(
            [log_mel(read_wav(path), filters) for path, _ in known + picked]
            + [log_mel(signal, filters) for signal in silence]
        )  # one clip's samples at a time: a split's waves would take gigabytes
        labels = [label for _, label in known] + [CLASSES.index(UNKNOWN)] * n_extra
        labels += [CLASSES.index(SILENCE)] * n_extra
        order = torch.from_numpy(order_rng.permutation(len(labels)))
        data = SequenceSet(
            torch.from_numpy(frames),
            torch.full((len(labels),), N_STEPS, dtype=torch.int64),
            torch.tensor(labels, dtype=torch.int64),
        )
        parts[split] = data.subset(order)
    return Task(
        name="speech-commands", train=parts["train"], valid=parts["valid"], test=parts["test"],
        n_classes=len(CLASSES), n_features=N_MELS, class_names=CLASSES,
    )  # fmt: skip


def read_wav(path: Path, min_seconds: float = 0.0) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV as float32 in [-1, 1], padded with zeros to at least 1 s;
    any other format, or a recording shorter than ``min_seconds``, is refused."""
    try:
        with wave.open(str(path), "rb") as reader:
            shape = reader.getframerate(), reader.getnchannels(), reader.getsampwidth()
            raw = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise SparseNASError(f"could not read '{path}' as a WAV file ({exc})") from None
    if shape != (RATE, 1, 2):
        raise SparseNASError(
            f"'{path}' is {shape[0]} Hz, {shape[1]} channel(s), {8 * shape[2]}-bit; "
            f"Speech Commands clips are {RATE} Hz mono 16-bit"
        )
    signal = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if len(signal) < min_seconds * RATE:
        raise SparseNASError(
            f"'{path}' lasts {len(signal) / RATE:.2f} s; a noise recording needs "
            f"{min_seconds:g} s to cut silence clips from"
        )
    return np.pad(signal, (0, max(0, CLIP - len(signal))))


def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters, evenly spaced on the HTK mel scale."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def hz(mels: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(np.array(F_MIN)), mel(np.array(F_MAX)), N_MELS + 2))
    bins = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel(signal: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """(N_STEPS, N_MELS) float32 log-mel energies of the first second of ``signal``."""
    padded = np.pad(signal[:CLIP], WINDOW // 2)
    starts = np.arange(N_STEPS) * HOP
    frames = padded[starts[:, None] + np.arange(WINDOW)[None, :]] * np.hanning(WINDOW)
    power = np.abs(np.fft.rfft(frames, N_FFT)) ** 2
    return np.log(power @ filters.T + 1e-6).astype(np.float32)


def _find_root(folder: Path) -> Path:
    """``folder`` if it holds the two list files, else its ``speech_commands_v0.02``."""
    if not folder.is_dir():
        raise SparseNASError(f"Speech Commands folder '{folder}' does not exist or is not a folder")
    for root in (folder, folder / FOLDER):
        if all((root / name).is_file() for name in LISTS.values()):
            missing = [w for w in (*WORDS, NOISE) if not (root / w).is_dir()]
            if missing:
                raise SparseNASError(
                    f"Speech Commands folder '{root}' lacks the subfolder(s) {', '.join(missing)}"
                )
            return root
    raise SparseNASError(
        f"Speech Commands files missing: {' and '.join(LISTS.values())} not found in "
        f"'{folder}' or '{folder / FOLDER}' (see docs/tasks.md)"
    )


def _read_list(path: Path) -> set[str]:
    """The clips a list file names (``word/file.wav`` per line)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SparseNASError(f"could not read the list file '{path}' ({exc})") from None
    return {line.strip() for line in lines if line.strip()}


def _clips_by_split(
    root: Path, listed: dict[str, set[str]]
) -> dict[str, tuple[list[tuple[Path, int]], list[tuple[Path, int]]]]:
    """Per split: (word clips with their class, clips of other words), in sorted order."""
    clips: dict[str, tuple[list[tuple[Path, int]], list[tuple[Path, int]]]] = {
        split: ([], []) for split in ("train", "valid", "test")
    }
    words = sorted(p for p in root.iterdir() if p.is_dir() and p.name != NOISE)
    for folder in words:
        for path in sorted(folder.glob("*.wav")):
            name = f"{folder.name}/{path.name}"
            split = next((s for s, names in listed.items() if name in names), "train")
            known, others = clips[split]
            if folder.name in WORDS:
                known.append((path, WORDS.index(folder.name)))
            else:
                others.append((path, CLASSES.index(UNKNOWN)))
    for split, (known, _) in clips.items():
        if not known:
            raise SparseNASError(
                f"the Speech Commands {split} split holds no clip of the ten words"
            )
    return clips


def _silence(
    noise: Sequence[np.ndarray], count: int, stretch: tuple[float, float], rng: np.random.Generator
) -> list[np.ndarray]:
    """``count`` 1 s clips from random recordings at random offsets within ``stretch``."""
    clips = []
    for index in rng.integers(len(noise), size=count):
        recording = noise[int(index)]
        low, high = (int(f * len(recording)) for f in stretch)
        start = int(rng.integers(low, max(low, high - CLIP) + 1))
        clips.append(recording[start : start + CLIP])
    return clips
