"""The Speech Commands reader on a tiny v0.02 folder written in the real format: word folders of
16 kHz mono 16-bit WAVs, the two list files and ``_background_noise_`` recordings."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import SparseNASError
from nas.tasks import load_task
from nas.tasks.speech import CLASSES, N_MELS, N_STEPS, WORDS, log_mel, mel_filters, read_wav

OTHER_WORDS = ("bed", "cat")
NOISE_SECONDS = 10


def write_wav(
    path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1, width: int = 2
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(np.repeat(samples, channels).astype(f"<i{width}").tobytes())


def write_speech(root: Path) -> Path:
    """Per word: two training clips, one listed for validation, one for testing (one clip
    half a second long); the other words likewise; two 10 s noise recordings."""
    rng = np.random.default_rng(0)
    folder = root / "speech_commands_v0.02"
    lists: dict[str, list[str]] = {"validation_list.txt": [], "testing_list.txt": []}
    for word in (*WORDS, *OTHER_WORDS):
        for clip in ("a_nohash_0", "b_nohash_0", "v_nohash_0", "t_nohash_0"):
            length = 8000 if (word, clip) == ("yes", "a_nohash_0") else 16000
            write_wav(folder / word / f"{clip}.wav", rng.integers(-9000, 9000, length))
        lists["validation_list.txt"].append(f"{word}/v_nohash_0.wav")
        lists["testing_list.txt"].append(f"{word}/t_nohash_0.wav")
    for name, entries in lists.items():
        (folder / name).write_text("\n".join(entries) + "\n")
    for name in ("white_noise.wav", "running_tap.wav"):
        samples = rng.integers(-3000, 3000, NOISE_SECONDS * 16000)
        write_wav(folder / "_background_noise_" / name, samples)
    return folder


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return write_speech(tmp_path_factory.mktemp("speech"))


def _features(path: Path) -> bytes:
    return log_mel(read_wav(path), mel_filters()).tobytes()


def test_the_twelve_classes_and_the_official_lists(speech) -> None:
    task = load_task(f"speech-commands:{speech.parent}", seed=0)
    assert task.name == "speech-commands" and task.class_names == CLASSES
    assert (task.n_classes, task.n_features, task.vocab_size) == (12, N_MELS, None)
    # 10 word clips per held-out split, 20 training; each split adds 10 % unknown, 10 % silence.
    assert (len(task.train), len(task.valid), len(task.test)) == (24, 12, 12)
    clips = {_features(p): p for p in speech.glob("*/*.wav") if p.parent.name[0] != "_"}
    noise = [read_wav(path, 10) for path in sorted((speech / "_background_noise_").glob("*"))]
    for part, prefix, stretch in ((task.train, "ab", None), (task.valid, "v", 8),
                                  (task.test, "t", 9)):  # fmt: skip
        assert part.inputs.shape[1:] == (N_STEPS, N_MELS) and part.inputs.dtype == torch.float32
        assert torch.all(part.lengths == N_STEPS) and torch.isfinite(part.inputs).all()
        counts = torch.bincount(part.labels, minlength=12).tolist()
        assert counts[:10] == [len(prefix)] * 10 and counts[10] == counts[11] == len(prefix)
        for row, label in zip(part.inputs.numpy(), part.labels.tolist(), strict=True):
            path = clips.get(row.tobytes())
            if CLASSES[label] == "_silence_":
                assert path is None
                if stretch is not None:  # held-out silence: the last 2 s, one second each
                    cut = slice(stretch * 16000, (stretch + 1) * 16000)
                    expected = {log_mel(n[cut], mel_filters()).tobytes() for n in noise}
                    assert row.tobytes() in expected
                continue
            assert path is not None and path.name[0] in prefix  # the list's split
            word = path.parent.name
            assert CLASSES[label] == (word if word in WORDS else "_unknown_")


def test_the_task_is_seeded(speech) -> None:
    first, again = (load_task(f"speech-commands:{speech}", seed=1) for _ in range(2))
    other = load_task(f"speech-commands:{speech}", seed=2)
    for a, b in ((first.train, again.train), (first.test, again.test)):
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(first.train.inputs, other.train.inputs)


def test_log_mel_frames_of_a_tone_peak_at_its_band() -> None:
    """A 1 kHz tone puts its energy in the mel band around 1 kHz; a short clip is padded."""
    time = np.arange(16000) / 16000
    frames = log_mel(np.sin(2 * np.pi * 1000 * time).astype(np.float32), mel_filters())
    assert frames.shape == (N_STEPS, N_MELS)
    centres = 700 * (10 ** (np.linspace(31.7, 2840.0, N_MELS + 2)[1:-1] / 2595) - 1)
    assert abs(centres[int(frames[50].argmax())] - 1000) < 150


def _break(folder: Path, fault: str) -> str:
    """Damage a good folder; returns what the error must say."""
    if fault == "missing list":
        (folder / "testing_list.txt").unlink()
        return "testing_list.txt not found"
    if fault == "binary list":
        (folder / "validation_list.txt").write_bytes(b"\xff\xfe\x00junk")
        return "could not read the list file"
    if fault == "missing word":
        for path in (folder / "go").iterdir():
            path.unlink()
        (folder / "go").rmdir()
        return "lacks the subfolder"
    if fault == "sample rate":
        write_wav(folder / "up" / "a_nohash_0.wav", np.zeros(8000), rate=8000)
        return "8000 Hz"
    if fault == "stereo":
        write_wav(folder / "up" / "a_nohash_0.wav", np.zeros(16000), channels=2)
        return "2 channel"
    if fault == "not a wav":
        (folder / "no" / "b_nohash_0.wav").write_bytes(b"RIFF....junk")
        return "could not read"
    if fault == "short noise":
        write_wav(folder / "_background_noise_" / "white_noise.wav", np.zeros(32000))
        return "lasts 2.00 s"
    if fault == "no noise":
        for path in (folder / "_background_noise_").iterdir():
            path.unlink()
        return "no .wav recordings"
    raise AssertionError(fault)


@pytest.mark.parametrize(
    "fault",
    ["missing list", "binary list", "missing word", "sample rate", "stereo", "not a wav",
     "short noise", "no noise"],
)  # fmt: skip
def test_a_bad_speech_folder_is_one_error(tmp_path, fault) -> None:
    folder = write_speech(tmp_path)
    message = _break(folder, fault)
    with pytest.raises(SparseNASError, match=message):
        load_task(f"speech-commands:{folder}")
