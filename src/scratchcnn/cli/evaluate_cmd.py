"""``scratchcnn evaluate MODEL``: loss, accuracy, per-class accuracy and confusion matrix."""

from __future__ import annotations

import argparse
import json

import numpy as np

from scratchcnn.cli.common import add_data_arguments, positive_int, warn_if_other_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a saved model's accuracy on a data set",
        description="Evaluate a model (or checkpoint) file on a data set split, in batches "
        "so that memory stays bounded however many images there are.",
    )
    parser.add_argument("model", metavar="MODEL", help="model or checkpoint file (.npz)")
    add_data_arguments(parser, default=None, shown="the one the model was trained on, else mnist")
    parser.add_argument(
        "--split", choices=("test", "train"), default="test", help="which split (default: test)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        metavar="N",
        help="images per batch (default: 256)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
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
    names = check_model_fits(model, image_shape, args.model, f"the images of {dataset}")
    if "class_names" not in model.metadata:
        names = datasets.class_names(dataset)[: len(names)]
    classes = len(names)
    if classes != len(datasets.class_names(dataset)) or int(labels.max()) >= classes:
        raise ScratchCNNError(
            f"{args.model} predicts {classes} classes but {dataset} has "
            f"{len(datasets.class_names(dataset))}",
            hint="evaluate it on the data set it was trained on",
        )
    try:
        result = evaluate(model, images, labels, batch_size=args.batch_size, num_classes=classes)
    except ValueError as exc:
        raise ScratchCNNError(f"{args.model} cannot run on {dataset}: {exc}") from None
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
    print(f"{args.model} on {dataset} {args.split} ({result.count:,} images)")
    print(f"accuracy {result.accuracy:.2%}   loss {result.loss:.4f}")
    print()
    print("per-class accuracy")
    totals = result.confusion.sum(axis=1)
    rows = [
        ["", name, f"{acc:.2%}", f"of {int(total):,}"]
        for name, acc, total in zip(names, result.per_class_accuracy, totals)
    ]
    print(format_table(rows, "llr"))
    print()
    print("confusion matrix (rows: true class, columns: predicted)")
    print(format_confusion(result.confusion, names))
    return 0


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]
