"""``scratchcnn report MODEL``: one self-contained HTML page that shows the model at work."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchcnn.cli.common import (
    add_evaluation_arguments,
    non_negative_int,
    warn_if_other_dataset,
)
from scratchcnn.i18n import get_language, tr


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report", help=tr("cli.report.help"), description=tr("cli.report.description")
    )
    add_evaluation_arguments(parser)
    parser.add_argument("-o", "--out", metavar="FILE", help=tr("cli.report.help.out"))
    parser.add_argument(
        "--images",
        type=non_negative_int,
        default=4,
        metavar="K",
        help=tr("cli.report.help.images", default=4),
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
        language=get_language(),
    )
    print(out)
    return 0
