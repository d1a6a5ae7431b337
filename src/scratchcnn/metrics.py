"""Classification metrics from true and predicted labels."""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of predictions equal to the labels."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions")
    return float(np.mean(labels == predictions)) if labels.size else float("nan")


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``C[t, p]`` = number of samples of true class ``t`` predicted as ``p``."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall of each class: the diagonal over the row sums (NaN for an absent class)."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def precision_recall_f1(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: precision ``C[k,k] / sum_t C[t,k]``, recall ``C[k,k] / sum_p C[k,p]``, F1.

    F1 is their harmonic mean ``2 P R / (P + R)``. A class never predicted has NaN
    precision, one absent from the labels NaN recall; F1 is 0 where both are 0.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / np.maximum(predicted, 1), np.nan)
        recall = np.where(actual > 0, hits / np.maximum(actual, 1), np.nan)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    f1 = np.where(np.isnan(total), np.nan, f1)
    return precision, recall, f1


def format_confusion(confusion: np.ndarray, class_names: list[str]) -> str:
    """The confusion matrix as an aligned text table (rows: true class, columns: predicted)."""
    k = confusion.shape[0]
    short = [name if len(name) <= 8 else name[:7] + "." for name in class_names]
    width = max(5, max(len(s) for s in short), len(str(int(confusion.max(initial=0)))))
    corner = "true \\ predicted"
    label_width = max(len(corner), max(len(s) for s in short))
    lines = [f"{corner:<{label_width}} " + " ".join(f"{s:>{width}}" for s in short)]
    for t in range(k):
        cells = " ".join(f"{int(confusion[t, p]):>{width}}" for p in range(k))
        lines.append(f"{short[t]:<{label_width}} {cells}")
    return "\n".join(lines)
