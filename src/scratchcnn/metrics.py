"""Classification metrics: from true and predicted labels, and of a model on a labelled set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.preprocessing import normalize

if TYPE_CHECKING:
    from scratchcnn.model import Sequential


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


def format_confusion(
    confusion: np.ndarray, class_names: list[str], corner: str = "true \\ predicted"
) -> str:
    """The confusion matrix as an aligned text table (rows: true class, columns: predicted).

    ``corner`` labels the top-left cell (the command line passes it in its language).
    """
    from scratchcnn.tables import format_table

    short = [name if len(name) <= 8 else name[:7] + "." for name in class_names]
    width = max(5, max(len(s) for s in short))
    rows = [[corner, *(s.rjust(width) for s in short)]]
    for name, counts in zip(short, confusion):
        rows.append([name, *(int(c) for c in counts)])
    return format_table(rows, "l" + "r" * len(short), gap=1)


@dataclass
class Evaluation:
    """Loss and accuracy of a model on a labelled set, with the confusion matrix."""

    loss: float
    accuracy: float
    confusion: np.ndarray
    per_class_accuracy: np.ndarray
    count: int
    #: Each image's predicted class and that class's softmax probability.
    predictions: np.ndarray | None = None
    confidence: np.ndarray | None = None


def evaluate(
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    preprocessing: dict[str, Any] | None = None,
    batch_size: int = 256,
    num_classes: int | None = None,
) -> Evaluation:
    """Mean cross-entropy, accuracy and confusion matrix over uint8 images, in batches.

    The loss is ``sum_b n_b * mean_loss_b / N`` over batches ``b``. Only one batch is ever
    normalised and run at once, so memory stays bounded however many images there are.
    Each image's predicted class and its probability are kept too (two numbers per image),
    for reports that show the most confident mistakes.
    """
    if preprocessing is None:
        preprocessing = model.metadata.get("preprocessing")
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("nothing to evaluate: no images")
    loss_sum = 0.0
    predictions = np.empty(len(labels), dtype=np.int64)
    confidence = np.empty(len(labels), dtype=np.float64)
    classes = num_classes
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        x = normalize(images[start:stop], preprocessing, model.dtype)
        logits = model.forward(x)
        classes = classes or logits.shape[1]
        loss, _ = softmax_cross_entropy(logits, labels[start:stop])
        loss_sum += loss * len(x)
        predictions[start:stop] = logits.argmax(axis=1)
        # The top class's probability: exp(0) / sum_j exp(z_j - max z).
        shifted = logits - logits.max(axis=1, keepdims=True)
        confidence[start:stop] = 1.0 / np.exp(shifted).sum(axis=1)
    confusion = confusion_matrix(labels, predictions, classes or 10)
    return Evaluation(
        loss=loss_sum / len(labels),
        accuracy=accuracy(labels, predictions),
        confusion=confusion,
        per_class_accuracy=per_class_accuracy(confusion),
        count=len(labels),
        predictions=predictions,
        confidence=confidence,
    )
