"""``scratchcnn report MODEL``: one self-contained HTML page that shows the model at work."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchcnn.cli.common import (
    add_data_arguments,
    non_negative_int,
    positive_int,
    warn_if_other_dataset,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="draw a saved model's curves, mistakes, filters and feature maps as an HTML page",
        description="Evaluate a model on a data set split and write one HTML file holding "
        "its training curves, accuracy, per-class precision/recall/F1, confusion matrix, "
        "most confident mistakes, first-layer filters, feature maps and saliency maps, its "
        "layers, how it was trained and the machine. The file embeds every picture and "
        "opens offline. Needs matplotlib: pip install 'scratchcnn[plot]'.",
    )
    parser.add_argument("model", metavar="MODEL", help="model or checkpoint file (.npz)")
    add_data_arguments(parser, default=None, shown="the one the model was trained on, else mnist")
    parser.add_argument(
        "--split", choices=("test", "train"), default="test", help="which split (default: test)"
    )
    parser.add_argument(
        "-o", "--out", metavar="FILE", help="HTML file to write (default: MODEL with .html)"
    )
    parser.add_argument(
        "--images",
        type=non_negative_int,
        default=4,
        metavar="K",
        help="test images whose feature maps and saliency are drawn (default: 4)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        metavar="N",
        help="images per evaluation batch (default: 256)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the model and the data, write the report, say where it is."""
    from scratchcnn import datasets
    from scratchcnn.persistence import load
    from scratchcnn.report import require_matplotlib, write_report

    require_matplotlib()
    model = load(args.model)
    dataset = args.dataset or model.metadata.get("dataset") or "mnist"
    warn_if_other_dataset(model, args.model, dataset, "report")
    images, labels = datasets.load(dataset, args.split, args.data_dir)
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".html")
    write_report(
        out,
        model,
        images,
        labels,
        name=Path(args.model).name,
        class_names=model.metadata.get("class_names") or datasets.class_names(dataset),
        dataset=dataset,
        split=args.split,
        examples=args.images,
        batch_size=args.batch_size,
        language=getattr(args, "lang", None),
    )
    print(out)
    return 0
