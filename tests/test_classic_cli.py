"""``scratchcnn classic``: the notebook's output, the English report, the options, the errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scratchcnn.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "notebook_output_mnist_zh.txt"


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["classic", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_prints_exactly_what_the_notebook_printed(shared_data_dir, capsys):
    # The fixture is the output of the notebook's own code on canonical MNIST. Every line but
    # the last two is robust; the test loss is printed to 16 digits, and its last ones follow
    # the rounding of every operation, including the BLAS kernel behind the dense layer's
    # np.dot (OpenBLAS picks one per CPU). scratchcnn makes the same NumPy and BLAS calls as
    # the notebook, so on any machine both print the same, but a CPU whose kernel rounds
    # differently from the one that made the fixture may print other final digits.
    code, lines, err = run(capsys, "--lang", "zh", "--data-dir", str(shared_data_dir))
    assert code == 0, err
    expected = FIXTURE.read_text(encoding="utf-8").splitlines()
    differing = [i for i, (a, b) in enumerate(zip(lines, expected)) if a != b]
    only_last_digits = differing == [len(expected) - 2] and lines[-2][:-3] == expected[-2][:-3]
    assert lines == expected, (
        "only the last digits of the test loss differ: the BLAS kernel of this CPU rounds "
        "differently from the one that made the fixture; run benchmarks/bench_classic.py "
        "to compare with the notebook on this machine"
        if only_last_digits
        else f"lines {differing} differ from the notebook's output"
    )


def test_english_report_and_exploration_options(capsys):
    argv = ["--lang", "en", "--dataset", "mnist-sample", "--train-size", "250"]
    argv += ["--test-size", "200", "--epochs", "2", "--lr", "0.01", "--filters", "4"]
    code, lines, err = run(capsys, *argv, "--seed", "3")
    assert code == 0, err
    step = r"\[Step \d+\] Past 100 steps: Average Loss \d+\.\d{3} \| Accuracy: \d+%"
    pattern = [
        r"MNIST CNN initialized!",
        step,
        step,
        r"MNIST CNN initialized!",
        r"--- Epoch 1 ---",
        step,
        step,
        r"--- Epoch 2 ---",
        step,
        step,
        r"",
        r"--- Testing the CNN ---",
        r"Test Loss: \d+\.\d+(e-\d+)?",
        r"Test Accuracy: (0\.\d+|1\.0)",
    ]
    assert len(lines) == len(pattern), lines
    for line, regex in zip(lines, pattern):
        assert re.fullmatch(regex, line), (line, regex)
    assert [line.split("]")[0] for line in lines[5:7]] == ["[Step 100", "[Step 200"]

    _, again, _ = run(capsys, *argv, "--seed", "3")
    _, other_seed, _ = run(capsys, *argv, "--seed", "4")
    assert again == lines
    assert other_seed[-2:] != lines[-2:]


def test_more_filters_and_a_larger_rate_change_the_run(capsys):
    base = ["--lang", "en", "--dataset", "mnist-sample", "--train-size", "120"]
    base += ["--test-size", "100", "--epochs", "1"]
    _, default, _ = run(capsys, *base)
    _, wider, _ = run(capsys, *base, "--filters", "2")
    _, faster, _ = run(capsys, *base, "--lr", "0.02")
    assert default[1] != wider[1]  # different network from the start
    assert default[1] == faster[1] and default[-2] != faster[-2]  # same start, other training


@pytest.mark.parametrize(
    ("argv", "status", "fragment"),
    [
        (["--train-size", "0"], 2, "positive integer"),
        (["--test-size", "-5"], 2, "positive integer"),
        (["--epochs", "two"], 2, "positive integer"),
        (["--lr", "0"], 2, "positive"),
        (["--lr", "nan"], 2, "positive"),
        (["--filters", "0"], 2, "positive integer"),
        (["--lang", "fr"], 2, "invalid choice"),
        (["--dataset", "cifar10"], 2, "invalid choice"),
        (["--dataset", "mnist-sample", "--test-size", "1001"], 1, "only 1,000 test images"),
        (["--dataset", "mnist-sample", "--train-size", "4001"], 1, "only 4,000 training images"),
    ],
)
def test_bad_options_give_one_clear_line(capsys, argv, status, fragment):
    code = main(["classic", *argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == status
    assert len(lines) == 1, err
    assert fragment in lines[0]


def test_a_diverging_run_stops_with_one_clear_line(capsys):
    argv = ["--dataset", "mnist-sample", "--train-size", "300", "--test-size", "100"]
    code, lines, err = run(capsys, *argv, "--lr", "5")
    assert code == 1
    assert err.startswith("scratchcnn: error: training diverged at epoch 1, step ")
    assert "try a learning rate below 5" in err
    assert len(err.strip().splitlines()) == 1
    assert "nan" not in "\n".join(lines)
