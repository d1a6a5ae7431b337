"""The examples run as a user runs them, and the README shows the API example's very code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import scratchcnn
from scratchcnn.data import datasets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, cwd: Path) -> str:
    """Run ``examples/<name>`` in ``cwd`` with this scratchcnn first on the path."""
    env = dict(os.environ)
    source = str(Path(scratchcnn.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_shows_the_api_tour_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = (EXAMPLES / "api_tour.py").read_text(encoding="utf-8")
    assert f"```python\n{code}```" in readme


@pytest.mark.slow
def test_api_tour_trains_saves_and_reloads_a_model(tmp_path):
    out = run_example("api_tour.py", cwd=tmp_path).splitlines()
    assert "epoch 2: last batch loss" in out[-2]
    assert float(out[-1]) > 0.85  # test accuracy on the 1,000 test digits of the sample
    assert scratchcnn.load(tmp_path / "model.npz").input_shape == (28, 28, 1)


@pytest.mark.slow
def test_trainer_example_then_predicting_a_file(tmp_path):
    out = run_example("train_with_trainer.py", "digits.npz", cwd=tmp_path)
    assert "epoch 2/2" in out and "saved to digits.npz" in out
    model = scratchcnn.load(tmp_path / "digits.npz")
    assert [row["epoch"] for row in model.metadata["history"]] == [1, 2]
    assert model.metadata["test"]["images"] == 1000 and model.metadata["test"]["accuracy"] > 0.8
    assert (tmp_path / "digits.npz.ckpt.npz").is_file()

    image_module = pytest.importorskip("PIL.Image")
    images, labels = datasets.load("mnist-sample", "test")
    paths = []
    for i in range(3):  # dark digits on white paper, four times MNIST's size
        path = tmp_path / f"digit-{i}.png"
        image_module.fromarray(255 - images[i]).resize((112, 112)).save(path)
        paths.append(path.name)
    lines = run_example("predict_file.py", "digits.npz", *paths, cwd=tmp_path).splitlines()
    assert [line.split(":")[0] for line in lines] == paths
    predicted = [line.split(": ")[1].split(" ")[0] for line in lines]
    assert sum(p == str(label) for p, label in zip(predicted, labels[:3])) >= 2
