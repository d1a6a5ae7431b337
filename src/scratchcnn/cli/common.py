"""Argument types and options shared by the sub-commands."""

from __future__ import annotations

import argparse
import math

# The names of the data sets and presets, repeated here so that building the parser
# imports nothing heavy; tests check them against scratchcnn.datasets and .presets.
DATASET_CHOICES = ("mnist", "fashion-mnist", "mnist-sample")
PRESET_NAMES = ("classic", "lenet", "fast", "best")


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def add_data_arguments(parser: argparse.ArgumentParser, default: str | None = "mnist") -> None:
    """``--dataset`` and ``--data-dir``."""
    shown = f" (default: {default})" if default else ""
    parser.add_argument(
        "--dataset", choices=DATASET_CHOICES, default=default, help=f"data set{shown}"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding the data set's files (default: $SCRATCHCNN_DATA, then the cache)",
    )
