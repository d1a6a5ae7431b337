"""Training survives faults: SIGKILL at random moments, SIGINT and SIGTERM.

Each test drives the real command in a subprocess on the bundled sample, with the small
``classic`` preset so that epochs (and so checkpoint writes) come many times a second.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.persistence import load, load_checkpoint

TRAIN = [
    sys.executable, "-m", "scratchcnn", "train",
    "--model", "classic", "--dataset", "mnist-sample", "--train-size", "1024",
    "--batch-size", "32", "--seed", "3", "--no-progress", "--no-test",
]  # fmt: skip


def train_command(out: Path, epochs: int, resume: bool = False) -> list[str]:
    command = [*TRAIN, "--epochs", str(epochs), "--out", str(out)]
    return [*command, "--resume"] if resume else command


def uninterrupted_weights(folder: Path, epochs: int) -> dict[str, np.ndarray]:
    out = folder / "straight.npz"
    subprocess.run(train_command(out, epochs), check=True, capture_output=True)
    return load(out).state_dict()


def assert_same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Bit-identical weights: exact resume is the point, so no tolerance.

    This holds on every machine because both runs are on the same machine and make the
    same BLAS calls on the same shapes with the same thread count, for which OpenBLAS
    splits and orders every sum the same way each time. Kernels differ between CPUs, but
    both runs here use this CPU's.
    """
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(
            a[key], b[key], err_msg=f"{key}: a resumed run must repeat the same arithmetic"
        )


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_bad_checkpoint(tmp_path):
    """Kill, check the checkpoint, resume; again and again until training completes.

    Most kills come a random number of epochs into a run plus a random few milliseconds,
    so they land in training steps and in checkpoint writes alike; some come during
    start-up. Each run is killed within 7 epochs (6 epoch lines and a few milliseconds), so
    the 60 epochs take at least eight runs and seven kills, however fast or slow the
    machine is.
    """
    epochs = 60
    out = tmp_path / "model.npz"
    ckpt = tmp_path / "model.ckpt.npz"
    rng = random.Random(2024)
    kills = 0
    for _attempt in range(100):
        process = subprocess.Popen(
            train_command(out, epochs, resume=ckpt.exists()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            wanted, seen = rng.randint(1, 6), 0
            for line in process.stdout:
                seen += line.startswith("epoch ")
                if seen >= wanted:
                    break
            time.sleep(rng.uniform(0.0, 0.02))
        if process.poll() is None:
            process.kill()
            kills += 1
        _, err = process.communicate()
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, err
        if ckpt.exists():
            state = load_checkpoint(ckpt).training_state  # always loads
            assert 1 <= state["epoch"] <= epochs
    assert kills >= 7, f"only {kills} kills landed before training finished"
    assert out.exists(), "training never finished"
    # Every kill lost at most an unfinished epoch, and resuming replays it exactly.
    assert_same_weights(load(out).state_dict(), uninterrupted_weights(tmp_path, epochs))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_finishes_the_step_saves_and_says_how_to_resume(tmp_path, sig):
    epochs = 12
    out = tmp_path / "model.npz"
    ckpt = tmp_path / "model.ckpt.npz"
    process = subprocess.Popen(
        train_command(out, epochs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in process.stdout:  # wait until training is under way
        if line.startswith("epoch 2/"):
            break
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"checkpoint saved to {ckpt}" in err
    assert "resume with: scratchcnn train --resume" in err
    assert "Traceback" not in err
    state = load_checkpoint(ckpt).training_state
    assert 2 <= state["epoch"] < epochs
    assert not out.exists()

    resumed = subprocess.run(
        train_command(out, epochs, resume=True), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    assert_same_weights(load(out).state_dict(), uninterrupted_weights(tmp_path, epochs))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX signals")
def test_non_finite_loss_from_the_command_line(tmp_path):
    out = tmp_path / "model.npz"
    command = [
        *train_command(out, 3),
        "--lr",
        "1e6",
        "--optimizer",
        "sgd",
        "--schedule",
        "constant",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "the loss became nan at epoch 1" in last or "the loss became inf at epoch 1" in last
    assert "try a lower learning rate, e.g. --lr 1e+05" in last
    assert "no checkpoint was written" in last
    assert not out.exists()
