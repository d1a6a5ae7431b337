"""``scratchcnn classic``: the original notebook's two experiments, reproduced exactly.

With the defaults (canonical MNIST, seed 114514, 1,000 training and 1,000 test images,
3 epochs, learning rate 0.005, 8 filters) it prints, line for line, what the notebook
prints. The options change any of those settings to explore from there.
"""

from __future__ import annotations

import argparse
import sys

from scratchcnn.cli.common import positive_float, positive_int
from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import tr

DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "mnist-sample": "MNIST"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``classic`` and its options."""
    parser = subparsers.add_parser(
        "classic", help=tr("cli.classic.help"), description=tr("cli.classic.description")
    )
    # The notebook's messages, not the command line's language (the global --lang).
    parser.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help=tr("cli.classic.help.lang")
    )
    parser.add_argument(
        "--seed", type=int, default=114514, help=tr("cli.classic.help.seed", default=114514)
    )
    parser.add_argument(
        "--train-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help=tr("cli.classic.help.train_size", default=1000),
    )
    parser.add_argument(
        "--test-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help=tr("cli.classic.help.test_size", default=1000),
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=3,
        metavar="N",
        help=tr("cli.classic.help.epochs", default=3),
    )
    parser.add_argument(
        "--lr", type=positive_float, default=0.005, help=tr("cli.classic.help.lr", default=0.005)
    )
    parser.add_argument(
        "--filters",
        type=positive_int,
        default=8,
        metavar="N",
        help=tr("cli.classic.help.filters", default=8),
    )
    parser.add_argument(
        "--dataset",
        choices=tuple(DATASET_TITLES),
        default="mnist",
        help=tr("cli.classic.help.dataset"),
    )
    parser.add_argument("--data-dir", metavar="DIR", help=tr("cli.help.data_dir"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the data, run both experiments and print each line as soon as it is known."""
    from scratchcnn import classic
    from scratchcnn.data import datasets

    # Only the images used are read: a split shorter than asked for has fewer.
    train_images, train_labels = datasets.load(
        args.dataset, "train", args.data_dir, limit=args.train_size
    )
    test_images, test_labels = datasets.load(
        args.dataset, "test", args.data_dir, limit=args.test_size
    )
    _check_size("--train-size", args.train_size, len(train_images), args.dataset, "train")
    _check_size("--test-size", args.test_size, len(test_images), args.dataset, "test")
    config = classic.ClassicConfig(
        seed=args.seed,
        epochs=args.epochs,
        lr=args.lr,
        num_filters=args.filters,
        lang=args.lang,
        dataset_title=DATASET_TITLES[args.dataset],
    )
    lines = classic.run_classic(train_images, train_labels, test_images, test_labels, config)
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


def _check_size(option: str, size: int, available: int, dataset: str, split: str) -> None:
    if size > available:
        raise ScratchCNNError(
            message_key="cli.classic.too_many",
            hint_key="cli.classic.too_many.hint",
            option=option,
            size=size,
            dataset=dataset,
            available=f"{available:,}",
            split=tr(f"cli.split_adjective.{split}"),
            most=available,
        )
