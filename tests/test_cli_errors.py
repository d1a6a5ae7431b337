"""Every user mistake gets one clear line and the right exit status; bugs keep tracebacks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from scratchcnn.cli import main
from scratchcnn.layers import Conv2D, Dense, Flatten
from scratchcnn.model import Sequential
from scratchcnn.persistence import save
from scratchcnn.presets import build_model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    save(build_model("classic"), folder / "model.npz")
    five = Sequential(
        [Conv2D(1, 2, 3, rng=0), Flatten(), Dense(26 * 26 * 2, 5, rng=0)], input_shape=(28, 28, 1)
    )
    save(five, folder / "five-classes.npz")
    wide = Sequential(
        [Conv2D(1, 2, 3, rng=0), Flatten(), Dense(30 * 30 * 2, 10, rng=0)], input_shape=(32, 32, 1)
    )
    save(wide, folder / "32x32.npz")
    (folder / "notes.png").write_text("not an image at all")
    data = (folder / "model.npz").read_bytes()
    (folder / "damaged.npz").write_bytes(data[: len(data) // 2])
    (folder / "a-file").write_text("x")
    return folder


CASES = [
    # (arguments, exit status, fragment of the one-line message)
    (["evaluate", "{d}/missing.npz"], 1, "missing.npz: no such file"),
    (["evaluate", "{d}/damaged.npz"], 1, "damaged.npz"),
    (
        ["evaluate", "{d}/five-classes.npz", "--dataset", "mnist-sample"],
        1,
        "predicts 5 classes but mnist-sample has 10",
    ),
    (
        ["evaluate", "{d}/32x32.npz", "--dataset", "mnist-sample"],
        1,
        "takes inputs of shape (32, 32, 1), not (28, 28, 1) (the images of mnist-sample)",
    ),
    (["predict", "{d}/32x32.npz", "{d}/notes.png"], 1, "28x28"),
    (["predict", "{d}/model.npz", "{d}/notes.png"], 1, "notes.png"),
    (["predict", "{d}/model.npz", "{d}/missing.png"], 1, "missing.png"),
    (["train", "--dataset", "mnsit"], 2, "invalid choice: 'mnsit'"),
    (["train", "--model", "resnet", "--dataset", "mnist-sample"], 1, "unknown model 'resnet'"),
    (["train", "--epochs", "0"], 2, "--epochs: expected a positive integer, got '0'"),
    (["train", "--lr", "fast"], 2, "--lr: expected a positive number, got 'fast'"),
    (["train", "--validation-split", "1.5"], 2, "expected a number in [0, 1)"),
    (["train", "--resume", "--out", "{d}/never-trained.npz"], 1, "no checkpoint to resume from"),
    (
        [
            "train",
            "--dataset",
            "mnist-sample",
            "--out",
            "{d}/a-file/model.npz",
            "--epochs",
            "1",
            "--train-size",
            "64",
            "--no-progress",
            "--no-test",
        ],
        1,
        "a-file",
    ),
    (["evaluate"], 2, "the following arguments are required: MODEL"),
    (["classic", "--dataset", "mnist-sample", "--train-size", "999999"], 1, "999999"),
    (["data", "verify", "cifar10"], 1, "cifar10"),
]


@pytest.mark.parametrize(
    ("argv", "status", "fragment"), CASES, ids=[" ".join(c[0][:3]) for c in CASES]
)
def test_user_mistakes_get_one_clear_line(files, capsys, argv, status, fragment):
    code = main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == status, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert fragment in lines[0]
    assert lines[0].startswith("scratchcnn")


def test_missing_data_offline_names_the_files_and_the_offline_way_first(
    capsys, monkeypatch, tmp_path
):
    monkeypatch.delenv("SCRATCHCNN_DATA", raising=False)
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", "http://127.0.0.1:9/{name}/")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code = main(
        ["train", "--dataset", "fashion-mnist", "--out", str(tmp_path / "m.npz"), "--no-progress"]
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert "train-images-idx3-ubyte.gz" in err
    for fix in ("--dataset mnist-sample", "SCRATCHCNN_DATA", "--data-dir"):
        assert fix in err
    assert err.index("mnist-sample") < err.index("SCRATCHCNN_DATA")


def test_a_closed_pipe_ends_the_command_quietly():
    # Like `scratchcnn classic | head -1`: the reader leaves after one line while the command
    # still has lines to print.
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchcnn", "classic", "--dataset", "mnist-sample", "--lang", "en"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert err.decode() == ""


def test_debug_shows_the_traceback(files):
    result = subprocess.run(
        [sys.executable, "-m", "scratchcnn", "--debug", "evaluate", str(files / "missing.npz")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "ModelFileError" in result.stderr


def test_a_bug_is_not_dressed_up_as_a_user_error(monkeypatch):
    from scratchcnn.cli import evaluate_cmd

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(evaluate_cmd, "run", broken)
    with pytest.raises(ZeroDivisionError):
        main(["evaluate", "anything.npz"])


@pytest.mark.parametrize(
    ("layer", "x", "message"),
    [
        (
            Dense(1352, 10),
            np.zeros((32, 1350)),
            r"Dense\(1352 -> 10\) expected input with 1352 features, got \(32, 1350\)",
        ),
        (
            Dense(1352, 10),
            np.zeros((32, 13, 13, 8)),
            r"Dense\(1352 -> 10\) expected a 2-D input .* add a Flatten layer",
        ),
        (
            Conv2D(3, 8, 3),
            np.zeros((2, 28, 28, 1)),
            r"Conv2D\(3 -> 8, 3x3\) expected input with 3 channels \(NHWC\), got \(2, 28, 28, 1\)",
        ),
        (
            Conv2D(1, 8, 5),
            np.zeros((2, 3, 3, 1)),
            r"Conv2D\(1 -> 8, 5x5\) got input \(2, 3, 3, 1\), smaller than its 5x5 kernel",
        ),
        (
            Conv2D(1, 8, 3),
            np.zeros((28, 28, 1)),
            r"Conv2D\(1 -> 8, 3x3\) expected NHWC input .* got an array of shape \(28, 28, 1\)",
        ),
        (
            Conv2D(1, 8, 3),
            np.array([["a"]]),
            r"Conv2D\(1 -> 8, 3x3\) expected a numeric array, got dtype <U1",
        ),
    ],
)
def test_layers_name_themselves_and_both_shapes(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer.forward(x)


def test_parser_constants_match_the_library():
    from scratchcnn import datasets
    from scratchcnn.cli.common import (
        DATASET_CHOICES,
        OPTIMIZER_NAMES,
        PRESET_NAMES,
        SCHEDULE_NAMES,
    )
    from scratchcnn.presets import PRESETS
    from scratchcnn.training import OPTIMIZERS, SCHEDULES

    assert DATASET_CHOICES == datasets.NAMES
    assert PRESET_NAMES == tuple(PRESETS)
    assert OPTIMIZER_NAMES == OPTIMIZERS and SCHEDULE_NAMES == SCHEDULES


def test_building_the_parser_imports_no_heavy_module():
    code = (
        "import sys; from scratchcnn.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('scratchcnn.') and "
        "m.split('.')[1] in {'layers', 'model', 'presets', 'persistence', 'training', 'datasets'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
