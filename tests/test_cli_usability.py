"""A new user's friction points: data-set mismatch warnings, plurals, helps, checkpoints, summary."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scratchcnn.cli import _nested_parsers, build_parser, main
from scratchcnn.compatibility import other_training_dataset
from scratchcnn.persistence import load, save
from scratchcnn.presets import build_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, object]:
    """One epoch of lenet on 64 sample images, with validation and a test record."""
    folder = tmp_path_factory.mktemp("usability")
    out = folder / "model.npz"
    argv = [
        "train", "--dataset", "mnist-sample", "--epochs", "1", "--train-size", "64",
        "--validation-split", "0.25", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        captured: list[str] = []
        patch.setattr("builtins.print", lambda *a, **k: captured.append(" ".join(map(str, a))))
        status = main(argv)
    return {"status": status, "out": out, "lines": captured, "folder": folder}


def model_trained_on(folder: Path, dataset: str | None) -> Path:
    model = build_model("classic")
    if dataset:
        model.metadata["dataset"] = dataset
    path = folder / f"on-{dataset}.npz"
    save(model, path)
    return path


@pytest.mark.parametrize(
    ("trained_on", "used_on", "expected"),
    [
        ("mnist", "fashion-mnist", "mnist"),
        ("fashion-mnist", "mnist-sample", "fashion-mnist"),
        ("mnist", "mnist", None),
        ("mnist-sample", "mnist", None),  # the sample's digits are MNIST's
        ("mnist", "mnist-sample", None),
        (None, "fashion-mnist", None),  # a model that records nothing (ONNX import)
    ],
)
def test_other_training_dataset(trained_on, used_on, expected):
    metadata = {} if trained_on is None else {"dataset": trained_on}
    assert other_training_dataset(metadata, used_on) == expected


def test_evaluate_warns_about_another_data_set_and_still_prints(tmp_path, capsys):
    path = model_trained_on(tmp_path, "fashion-mnist")
    assert main(["evaluate", str(path), "--dataset", "mnist-sample"]) == 0
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        f"warning: {path.name} was trained on fashion-mnist; evaluating it on mnist-sample"
    ]
    assert "accuracy" in out and "confusion matrix" in out


def test_evaluate_of_the_training_data_set_says_nothing(tmp_path, capsys):
    path = model_trained_on(tmp_path, "mnist")
    assert main(["evaluate", str(path), "--dataset", "mnist-sample", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_report_warns_about_another_data_set(tmp_path, capsys, monkeypatch):
    # The page itself is tested in test_report.py; here only what the command says.
    written = []
    monkeypatch.setattr("scratchcnn.report.require_matplotlib", lambda: None)
    monkeypatch.setattr("scratchcnn.report.write_report", lambda out, *a, **k: written.append(out))
    path = model_trained_on(tmp_path, "fashion-mnist")
    assert main(["report", str(path), "--dataset", "mnist-sample"]) == 0
    err = capsys.readouterr().err
    assert f"{path.name} was trained on fashion-mnist; reporting on it with mnist-sample" in err
    assert written == [path.with_suffix(".html")]


def test_training_announces_the_checkpoint_and_counts_one_epoch(trained):
    assert trained["status"] == 0
    text = "\n".join(trained["lines"])
    checkpoint = Path(str(trained["out"])[: -len(".npz")] + ".ckpt.npz")
    assert checkpoint.exists()
    assert f"checkpoint: {checkpoint}, written after every epoch" in text
    assert f"resume with: scratchcnn train --resume --out {trained['out']}" in text
    assert "trained 1 epoch (" in text
    assert "1 epochs" not in text


def test_resuming_a_finished_one_epoch_run_says_so_in_the_singular(trained, capsys):
    checkpoint = str(trained["out"])[: -len(".npz")] + ".ckpt.npz"
    out = trained["folder"] / "resumed.npz"
    argv = ["train", "--resume", "--checkpoint", checkpoint, "--out", str(out), "--no-test"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "training already finished (1 epoch); nothing to do" in out


def test_summary_of_a_model_file_shows_its_history_and_test_result(trained, capsys):
    metadata = load(trained["out"]).metadata
    assert main(["summary", str(trained["out"])]) == 0
    out = capsys.readouterr().out
    assert "trained on mnist-sample: 1 epoch in" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("epoch"))
    assert header.split() == ["epoch", "loss", "accuracy", "val.", "loss", "val.", "accuracy",
                              "lr", "seconds"]  # fmt: skip
    row = out.splitlines()[out.splitlines().index(header) + 1].split()
    history = metadata["history"][0]
    assert row[:3] == ["1", f"{history['loss']:.4f}", f"{history['accuracy']:.2%}"]
    assert row[4] == f"{history['val_accuracy']:.2%}"
    test = metadata["test"]
    assert f"test accuracy {test['accuracy']:.2%} (loss {test['loss']:.4f}) on 1,000 images" in out


def test_summary_of_a_file_without_history_says_so(tmp_path, capsys):
    path = model_trained_on(tmp_path, None)
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "the file records no training history" in out
    assert "the file records no test result" in out


def all_parsers() -> list[argparse.ArgumentParser]:
    parser = build_parser()
    return [parser, *_nested_parsers(parser)]


@pytest.mark.parametrize("parser", all_parsers(), ids=lambda p: p.prog)
def test_every_command_has_a_description_and_every_default_is_shown(parser):
    assert parser.description, f"{parser.prog} has no description"
    for action in parser._actions:
        if action.help in (None, argparse.SUPPRESS) or isinstance(
            action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
        ):
            continue
        if action.default not in (None, False, argparse.SUPPRESS):
            assert "default" in action.help, f"{parser.prog} {action.dest}: {action.help!r}"


def test_train_help_says_mnist_and_the_presets_values_are_the_defaults(capsys):
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split("options:")[1].split())
    assert "data set (default: mnist)" in help_text
    for option in ("--epochs", "--batch-size", "--lr", "--optimizer", "--schedule", "--shift"):
        section = help_text[help_text.index(option + " ") :]
        assert "(default: the preset's)" in section[:200], option
