"""Taking a found network away: export -> load -> the same network (bit for bit), its card,
and every broken folder or input refused with one clear error."""

import json

import pytest
import torch

from core.errors import SparseNASError
from graphs.dag import READOUTS
from graphs.io import edges_from_string
from models.evaluation import evaluate_many
from models.export import CARD, GRAPHML, WEIGHTS, load_exported, save_exported
from models.networks import parameter_counts
from models.training import TrainSpec, evaluate
from nas.experiments.export import encode_texts, export_network, infer_texts
from nas.reports.data import load_run
from nas.reports.ranking import ranking
from nas.tasks import load_task


def tiny_card(task):
    return {
        "cell": "gru",
        "task": "tiny",
        "n_classes": task.n_classes,
        "class_names": ["no", "yes"],
        "input": {"kind": "tokens", "vocab_size": task.vocab_size,
                  "vocabulary": {t: i for i, t in enumerate("abcde", start=1)}},
        "test_acc": 0.5,
    }  # fmt: skip


@pytest.fixture
def trained(tiny_task):
    graph = edges_from_string("0-2 1-2 1-3 2-3 2-4 3-4 0-5 5-4")
    records, (model,) = evaluate_many(
        [graph], "gru", tiny_task, TrainSpec(epochs=2, batch_size=16), seeds=[1], keep_models=True
    )
    assert records[0]["status"] == "ok"
    return graph, model


def test_export_then_load_gives_the_same_outputs_bit_for_bit(trained, tiny_task, tmp_path):
    graph, model = trained
    model.eval()
    save_exported(model, graph, tiny_card(tiny_task), tmp_path / "net")
    loaded = load_exported(tmp_path / "net")
    data = tiny_task.test
    with torch.no_grad():
        before = model(data.inputs, data.lengths)
        after = loaded.model(data.inputs, data.lengths)
    assert torch.equal(before, after)
    assert not loaded.model.training
    assert sorted(loaded.graph.edges) == sorted(graph.edges)
    assert loaded.card["params_nonzero"] < loaded.card["params_total"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[name])


def test_a_card_for_another_network_is_refused(trained, tiny_task, tmp_path):
    graph, model = trained
    card = tiny_card(tiny_task) | {"n_classes": 3}
    with pytest.raises(SparseNASError, match="does not describe the network"):
        save_exported(model, graph, card, tmp_path / "net")


def test_a_search_export_reproduces_its_measured_accuracy(tiny_run, tmp_path):
    out, study = tiny_run
    card = export_network(out, 1, tmp_path / "best")
    best = ranking(load_run(out).frame).iloc[0]
    assert card["trial"] == int(best["trial"]) and card["rank"] == 1
    assert card["test_acc"] == best["test_acc"]
    assert card["input"]["vocabulary"]["B"] == 2 and card["class_names"] == ["invalid", "valid"]
    trial = study.trials[card["trial"]]
    assert card["params_nonzero"] == trial.user_attrs["params_nonzero"]
    assert card["properties"]["edges"] == trial.user_attrs["properties"]["edges"]
    assert card["seeds"]["train"] == trial.user_attrs["train_seed"]
    assert {"torch", "optuna", "python"} <= set(card["versions"])
    loaded = load_exported(tmp_path / "best")
    assert sorted(loaded.graph.edges) == sorted(
        edges_from_string(trial.user_attrs["edge_list"]).edges
    )
    task = load_task("reber", 0, 200)
    _, accuracy = evaluate(loaded.model, task.test, torch.device("cpu"))
    assert accuracy == pytest.approx(card["test_acc"], abs=1.5 / len(task.test))


def test_ranks_without_saved_weights_say_which_can_be_exported(tiny_run, tmp_path):
    out, _ = tiny_run
    done = len(ranking(load_run(out).frame))
    kept = len(list((out / "best").glob("*.pt")))
    assert done > kept  # the tiny search keeps 5 of its finished networks
    with pytest.raises(SparseNASError, match=rf"rank {kept + 1} .*no saved weights.*1, 2, 3"):
        export_network(out, kept + 1, tmp_path / "x")
    with pytest.raises(SparseNASError, match="rank 99 is beyond"):
        export_network(out, 99, tmp_path / "x")


@pytest.fixture
def exported(tiny_run, tmp_path_factory):
    out, _ = tiny_run
    folder = tmp_path_factory.mktemp("export") / "net"
    export_network(out, 1, folder)
    return folder


def test_infer_gives_each_text_a_class_and_probability(exported):
    results = infer_texts(exported, ["BTSSXXTVVE", "BPTVVE", "BTXXE"])
    assert [r["input"] for r in results] == ["BTSSXXTVVE", "BPTVVE", "BTXXE"]
    for result in results:
        probabilities = result["probabilities"]
        assert set(probabilities) == {"invalid", "valid"}
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert result["probability"] == max(probabilities.values()) >= 0.5
        assert probabilities[result["class"]] == result["probability"]
    network = load_exported(exported)
    inputs, lengths = encode_texts(network, ["BPTVVE", "BT"])
    assert inputs.tolist() == [[2, 16, 20, 22, 22, 5], [2, 20, 0, 0, 0, 0]]
    assert lengths.tolist() == [6, 2]


@pytest.mark.parametrize(
    "texts, message",
    [(["BTX", "BT1E"], r"input 2 \('BT1E'\) has symbol\(s\) '1'"), ([], "at least one"),
     (["  "], "input 1 is empty")],
)  # fmt: skip
def test_bad_inputs_are_refused(exported, texts, message):
    with pytest.raises(SparseNASError, match=message):
        infer_texts(exported, texts)


def corrupt_weights(folder):
    data = bytearray((folder / WEIGHTS).read_bytes())
    data[-20] ^= 0xFF
    (folder / WEIGHTS).write_bytes(bytes(data))


def truncate_card(folder):
    card = json.loads((folder / CARD).read_text())
    del card["input"]
    (folder / CARD).write_text(json.dumps(card))


BREAKAGES = {
    "corrupt weights": (corrupt_weights, "does not match its checksum"),
    "no graph": (lambda f: (f / GRAPHML).unlink(), "incomplete: graph.graphml is missing"),
    "no card": (lambda f: (f / CARD).unlink(), "not an export folder"),
    "card not JSON": (lambda f: (f / CARD).write_text("{"), "cannot read"),
    "card incomplete": (truncate_card, "lacks input"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_broken_export_folders_are_refused(exported, tmp_path, breakage):
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in exported.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    load_exported(folder)  # intact copy loads
    damage, message = BREAKAGES[breakage]
    damage(folder)
    with pytest.raises(SparseNASError, match=message):
        load_exported(folder)


def test_swapped_weights_that_still_match_the_checksum_are_refused(exported, tmp_path, trained):
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in exported.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    _, other = trained
    torch.save(other.state_dict(), folder / WEIGHTS)
    card = json.loads((folder / CARD).read_text())
    import hashlib

    card["files"][WEIGHTS] = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    (folder / CARD).write_text(json.dumps(card))
    with pytest.raises(SparseNASError, match="cannot load .* into the network"):
        load_exported(folder)


@pytest.mark.parametrize("kind", ["reber", "csv"])
def test_a_tasks_vocabulary_and_split_tokens_re_encode_its_data(kind, tmp_path):
    from nas.tasks.encoding import decode_sequences, encode_sequences, split_tokens

    if kind == "csv":
        path = tmp_path / "words.csv"
        path.write_text("sequence,label\nab cd ab,3\ncd,7\nef ab,3\nab,7\n")
        task = load_task(f"csv:{path}")
        assert task.class_names == ("3", "7")
    else:
        task = load_task("reber", 0, 40)
        assert task.class_names == ("invalid", "valid")
    vocab = {token: i + 1 for i, token in enumerate(task.vocabulary)}
    assert len(vocab) + 1 == task.vocab_size
    texts = [" ".join(tokens) if kind == "csv" else "".join(tokens)
             for tokens in decode_sequences(task.train, vocab)]  # fmt: skip
    again = encode_sequences([split_tokens(t) for t in texts], task.train.labels.tolist(), vocab)
    assert torch.equal(again.inputs, task.train.inputs)


def test_inputs_are_bounded_by_the_longest_training_sequence(exported, tiny_run):
    """The card records the longest training sequence; an input may be 4 times as long,
    and longer ones are refused at once (a 100 KB string once ran for a minute)."""
    network = load_exported(exported)
    out, _ = tiny_run
    config = json.loads((out / "config.json").read_text())
    task = load_task(config["task"], config["task_seed"], config["n_strings"])
    trained = int(task.train.lengths.max())
    assert network.card["input"]["longest_trained"] == trained
    limit = 4 * trained
    fits = "B" + "T" * (limit - 2) + "E"
    assert len(infer_texts(exported, [fits])) == 1
    with pytest.raises(SparseNASError, match=rf"has {limit + 1} tokens; .* at most {limit}"):
        infer_texts(exported, [fits + "E"])
    with pytest.raises(SparseNASError, match="at most 10000 input texts"):
        infer_texts(exported, ["BTE"] * 10_001)


def test_an_export_without_training_lengths_reads_up_to_a_thousand_tokens(exported):
    network = load_exported(exported)
    source = {k: v for k, v in network.card["input"].items() if k != "longest_trained"}
    network.card["input"] = source
    assert encode_texts(network, ["B" + "T" * 998 + "E"])[0].shape == (1, 1000)
    with pytest.raises(SparseNASError, match="at most 1000 .*does not record"):
        encode_texts(network, ["B" + "T" * 999 + "E"])


WITH_DEAD_END = "0-2 1-2 1-3 2-3 2-4 3-4 0-5 5-4 1-6"
"""Node 6 is a sink outside the last layer: each read-out sees other neurons."""


@pytest.mark.parametrize("readout", READOUTS)
def test_each_readout_survives_an_export_round_trip(tiny_task, tmp_path, readout):
    graph = edges_from_string(WITH_DEAD_END)
    train = TrainSpec(epochs=1, batch_size=16, readout=readout)
    records, (model,) = evaluate_many([graph], "gru", tiny_task, train, seeds=[1], keep_models=True)
    assert model.rnn.readout_neurons == model.rnn.dag.readout_neurons(readout)
    assert records[0]["params_nonzero"] == parameter_counts(model)["params_nonzero"]
    model.eval()
    save_exported(model, graph, tiny_card(tiny_task) | {"readout": readout}, tmp_path / "net")
    loaded = load_exported(tmp_path / "net")
    assert loaded.card["readout"] == loaded.model.rnn.readout_kind == readout
    assert loaded.card["params_nonzero"] == parameter_counts(model)["params_nonzero"]
    data = tiny_task.test
    with torch.no_grad():
        assert torch.equal(
            model(data.inputs, data.lengths), loaded.model(data.inputs, data.lengths)
        )


def test_a_card_without_a_readout_loads_as_the_last_layers(trained, tiny_task, tmp_path):
    """Exports made before the read-out was recorded read the DAG's last layer."""
    graph, model = trained
    card = tiny_card(tiny_task)
    assert "readout" not in card
    save_exported(model, graph, card, tmp_path / "net")
    loaded = load_exported(tmp_path / "net")
    assert "readout" not in loaded.card
    assert loaded.model.rnn.readout_kind == "last"
    assert loaded.model.rnn.readout_neurons == loaded.model.rnn.dag.readout_neurons("last")


def test_a_card_with_another_or_an_unknown_readout_is_refused(trained, tiny_task, tmp_path):
    graph, model = trained  # every neuron of this graph reaches node 4: sinks == last
    with pytest.raises(SparseNASError, match="readout 'sinks' is not the network's"):
        save_exported(model, graph, tiny_card(tiny_task) | {"readout": "sinks"}, tmp_path / "a")
    with pytest.raises(SparseNASError, match="readout"):
        save_exported(model, graph, tiny_card(tiny_task) | {"readout": "first"}, tmp_path / "b")
