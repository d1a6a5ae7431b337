"""A run's history: per-epoch rows and final test metrics, as the model file keeps them.

``model.metadata["history"]`` is a list of rows ``{epoch, loss, accuracy, lr, seconds,
val_loss, val_accuracy}`` (the validation values null without validation data);
``model.metadata["test"]`` is ``{dataset, split, loss, accuracy, images}``.
:func:`write_history` exports the rows as JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from scratchcnn.errors import ScratchCNNError
from scratchcnn.fileio import atomic_write_bytes
from scratchcnn.metrics import Evaluation

#: The columns of a history row, in order.
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "lr", "seconds", "val_loss", "val_accuracy")
#: The file types :func:`write_history` writes.
HISTORY_SUFFIXES = (".json", ".csv")


def test_record(result: Evaluation, dataset: str, split: str = "test") -> dict[str, Any]:
    """The ``metadata["test"]`` record of an evaluation."""
    return {
        "dataset": dataset,
        "split": split,
        "loss": float(result.loss),
        "accuracy": float(result.accuracy),
        "images": int(result.count),
    }


def check_history_path(path: str | Path) -> Path:
    """``path`` if its suffix is one :func:`write_history` knows; else a ScratchCNNError."""
    path = Path(path)
    if path.suffix.lower() not in HISTORY_SUFFIXES:
        raise ScratchCNNError(
            f"{path}: cannot write a history as {path.suffix or 'a file without a suffix'!r}",
            hint=f"name it .json or .csv, e.g. {path.with_suffix('.csv').name}",
        )
    return path


def write_history(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write the per-epoch rows to ``path`` (atomically): a JSON list or a CSV table.

    In CSV a missing validation value is an empty cell.
    """
    path = check_history_path(path)
    rows = [{field: row.get(field) for field in HISTORY_FIELDS} for row in rows]
    if path.suffix.lower() == ".json":
        data = json.dumps(rows, indent=2) + "\n"
    else:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=HISTORY_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else repr(v) for k, v in row.items()})
        data = text.getvalue()
    atomic_write_bytes(path, data.encode("utf-8"))
