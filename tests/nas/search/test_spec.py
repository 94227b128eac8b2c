"""SearchSpec: the names a search's study and out dir get from its task."""

import pytest

from nas.search.spec import SearchSpec


@pytest.mark.parametrize(
    "task, study",
    [
        ("reber", "gru-reber"),
        ("mnist1d", "gru-mnist1d"),
        ("csv:data/thesis strings.csv", "gru-thesis-strings"),
        ("seq-mnist:/data/mnist", "gru-seq-mnist"),
        ("speech-commands:/data/speech_commands_v0.02", "gru-speech-commands"),
    ],
)
def test_the_default_study_is_named_after_the_cell_and_the_task(task, study):
    spec = SearchSpec(cell="gru", task=task).resolved()
    assert spec.study == study
    assert spec.out.endswith(study) and spec.storage == f"sqlite:///{spec.out}/study.db"
