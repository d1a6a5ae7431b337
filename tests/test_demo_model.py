"""The model shipped for ``scratchcnn serve``: the file the docs describe, and as accurate."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

from scratchcnn import datasets
from scratchcnn.persistence import load
from scratchcnn.training import evaluate

DOCS = Path(__file__).resolve().parents[1] / "docs" / "serve.md"


def bundled_path():
    return resources.files("scratchcnn") / "models" / "demo.npz"


def documented(field: str) -> str:
    match = re.search(rf"^- {field}: `([^`]+)`", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"docs/serve.md lacks the line '- {field}: `...`'"
    return match.group(1)


def test_the_shipped_file_is_the_one_the_docs_describe_and_loads():
    data = bundled_path().read_bytes()
    assert len(data) <= 2 * 1024 * 1024
    assert hashlib.sha256(data).hexdigest() == documented("sha256")
    with resources.as_file(bundled_path()) as path:
        model = load(path)
    assert model.metadata["preset"] == "fast" and model.metadata["dataset"] == "mnist"
    test = model.metadata["test"]
    assert test["images"] == 10_000 and test["accuracy"] >= 0.99
    assert f"{test['accuracy']:.2%}" == documented("test accuracy")


@pytest.mark.slow
def test_the_shipped_model_reaches_99_percent_on_the_mnist_test_set(shared_data_dir):
    with resources.as_file(bundled_path()) as path:
        model = load(path)
    images, labels = datasets.load("mnist", "test", shared_data_dir)
    result = evaluate(model, images, labels)
    assert result.count == 10_000
    assert result.accuracy >= 0.99
    # The figure recorded at training time is this very evaluation.
    assert abs(result.accuracy - model.metadata["test"]["accuracy"]) < 1e-12
