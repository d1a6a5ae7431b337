"""``scratchcnn evaluate MODEL``: loss, accuracy, per-class accuracy and confusion matrix."""

from __future__ import annotations

import argparse
import json

import numpy as np

from scratchcnn.cli.common import add_evaluation_arguments, warn_if_other_dataset
from scratchcnn.i18n import tr


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate", help=tr("cli.evaluate.help"), description=tr("cli.evaluate.description")
    )
    add_evaluation_arguments(parser)
    parser.add_argument("--json", action="store_true", help=tr("cli.help.json"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the report."""
    from scratchcnn.compatibility import check_model_fits
    from scratchcnn.data import datasets
    from scratchcnn.errors import ScratchCNNError
    from scratchcnn.metrics import format_confusion
    from scratchcnn.persistence import load
    from scratchcnn.tables import format_table
    from scratchcnn.training import evaluate

    model = load(args.model)
    dataset = args.dataset or model.metadata.get("dataset") or "mnist"
    warn_if_other_dataset(model, args.model, dataset, "evaluate")
    images, labels = datasets.load(dataset, args.split, args.data_dir)
    image_shape = (*images.shape[1:3], images.shape[3] if images.ndim == 4 else 1)
    names = check_model_fits(model, image_shape, args.model, tr("cli.images_of", dataset=dataset))
    if "class_names" not in model.metadata:
        names = datasets.class_names(dataset)[: len(names)]
    classes = len(names)
    if classes != len(datasets.class_names(dataset)) or int(labels.max()) >= classes:
        raise ScratchCNNError(
            message_key="cli.evaluate.classes",
            hint_key="cli.evaluate.classes.hint",
            model=args.model,
            classes=classes,
            dataset=dataset,
            expected=len(datasets.class_names(dataset)),
        )
    try:
        result = evaluate(model, images, labels, batch_size=args.batch_size, num_classes=classes)
    except ValueError as exc:
        raise ScratchCNNError(
            message_key="cli.evaluate.cannot_run", model=args.model, dataset=dataset, reason=exc
        ) from None
    if args.json:
        print(
            json.dumps(
                {
                    "model": args.model,
                    "dataset": dataset,
                    "split": args.split,
                    "images": result.count,
                    "loss": result.loss,
                    "accuracy": result.accuracy,
                    "per_class_accuracy": dict(zip(names, _floats(result.per_class_accuracy))),
                    "confusion_matrix": result.confusion.tolist(),
                },
                indent=2,
            )
        )
        return 0
    split = tr(f"cli.split.{args.split}")
    print(
        tr(
            "cli.evaluate.title",
            model=args.model,
            dataset=dataset,
            split=split,
            images=f"{result.count:,}",
        )
    )
    print(tr("cli.evaluate.result", accuracy=f"{result.accuracy:.2%}", loss=f"{result.loss:.4f}"))
    print()
    print(tr("cli.evaluate.per_class"))
    totals = result.confusion.sum(axis=1)
    rows = [
        ["", name, f"{acc:.2%}", tr("cli.evaluate.of", count=f"{int(total):,}")]
        for name, acc, total in zip(names, result.per_class_accuracy, totals)
    ]
    print(format_table(rows, "llr"))
    print()
    print(tr("cli.evaluate.confusion"))
    print(format_confusion(result.confusion, names, tr("cli.evaluate.corner")))
    return 0


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]
