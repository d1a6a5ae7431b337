"""The story of a run: history and test metrics in the model file, --history, summary."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from scratchcnn import load, save
from scratchcnn.cli import main
from scratchcnn.layers import Dense, Flatten
from scratchcnn.model import Sequential
from scratchcnn.training.history import HISTORY_FIELDS, write_history

ROWS = [
    {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "lr": 0.01, "seconds": 1.25,
     "val_loss": None, "val_accuracy": None},
    {"epoch": 2, "loss": 0.25, "accuracy": 0.9125, "lr": 1e-05, "seconds": 1.5,
     "val_loss": 0.3, "val_accuracy": 0.875},
]  # fmt: skip


def test_history_as_json_and_csv(tmp_path):
    write_history(tmp_path / "h.json", ROWS)
    assert json.loads((tmp_path / "h.json").read_text()) == ROWS
    write_history(tmp_path / "h.csv", ROWS)
    with open(tmp_path / "h.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == HISTORY_FIELDS
    assert table[0]["val_loss"] == "" and float(table[1]["val_accuracy"]) == 0.875
    assert [float(row["lr"]) for row in table] == [0.01, 1e-05]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "h.json"]  # no temp files


def test_another_suffix_is_refused_before_anything_is_written(tmp_path, capsys):
    code = main(["train", "--dataset", "mnist-sample", "--history", str(tmp_path / "h.txt"),
                 "--out", str(tmp_path / "m.npz")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "h.txt" in err and ".json or .csv" in err
    assert list(tmp_path.iterdir()) == []


def test_train_keeps_history_and_test_metrics_and_summary_tells_the_story(tmp_path, capsys):
    model_path, history_path = tmp_path / "m.npz", tmp_path / "h.csv"
    argv = ["train", "--model", "classic", "--dataset", "mnist-sample", "--epochs", "2"]
    argv += ["--train-size", "600", "--validation-split", "0.2", "--no-progress"]
    assert main([*argv, "--out", str(model_path), "--history", str(history_path)]) == 0
    out = capsys.readouterr().out
    metadata = load(model_path).metadata

    history = metadata["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert all(set(row) == set(HISTORY_FIELDS) for row in history)
    assert all(0 <= row["val_accuracy"] <= 1 and row["seconds"] > 0 for row in history)
    test = metadata["test"]
    assert set(test) == {"dataset", "split", "loss", "accuracy", "images"}
    assert (test["dataset"], test["split"], test["images"]) == ("mnist-sample", "test", 1000)
    assert f"test accuracy {test['accuracy']:.2%}" in out
    assert metadata["recipe"]["train_size"] == 600 and metadata["recipe"]["epochs"] == 2
    with open(history_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["loss"]) for row in rows] == [row["loss"] for row in history]

    assert main(["summary", str(model_path)]) == 0
    shown = capsys.readouterr().out
    assert "preset: classic" in shown and "dataset: mnist-sample" in shown
    assert "trained on mnist-sample: 2 epochs in" in shown and "first 600 images" in shown
    table = shown[shown.index("epoch    loss") :].splitlines()
    assert table[1].split()[:3] == [
        "1",
        f"{history[0]['loss']:.4f}",
        f"{history[0]['accuracy']:.2%}",
    ]
    assert f"accuracy {test['accuracy']:.2%}" in shown and "on 1,000 images" in shown


def test_summary_of_a_model_without_history(tmp_path, capsys):
    path = tmp_path / "bare.npz"
    model = Sequential([Flatten(), Dense(784, 10, rng=0)], input_shape=(28, 28, 1))
    save(model, path)
    assert main(["summary", str(path)]) == 0
    assert "the file records no training history" in capsys.readouterr().out


def test_history_rows_survive_a_save(tmp_path):
    model = Sequential([Flatten(), Dense(784, 10, rng=0)], input_shape=(28, 28, 1))
    model.metadata["history"] = ROWS
    save(model, tmp_path / "m.npz")
    restored = load(tmp_path / "m.npz").metadata["history"]
    assert restored == ROWS and math.isclose(restored[1]["lr"], 1e-05)
    assert np.isfinite([row["loss"] for row in restored]).all()


@pytest.mark.parametrize("bad", ["", ".npz"])
def test_history_path_must_name_json_or_csv(tmp_path, bad):
    from scratchcnn.errors import ScratchCNNError

    with pytest.raises(ScratchCNNError, match=r"\.json or \.csv"):
        write_history(tmp_path / f"h{bad}", ROWS)
