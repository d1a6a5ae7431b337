"""The ``scratchcnn`` command.

Each sub-command lives in its own module under :mod:`scratchcnn.cli` with a
``register(subparsers)`` function that adds its parser and sets ``handler`` to a function
taking the parsed arguments and returning the exit status.

Exit status: 0 success, 1 a failure the user can fix (one line on stderr), 2 a usage
error (argparse), 130 interrupted. ``--debug`` shows the traceback of any failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from scratchcnn import __version__
from scratchcnn.errors import ScratchCNNError

# Sub-command modules (``scratchcnn.cli.<name>_cmd``), in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = ("train", "evaluate", "predict", "summary", "data")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="scratchcnn",
        description="A convolutional neural network written from scratch in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"scratchcnn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"scratchcnn.cli.{name}_cmd")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except ScratchCNNError as exc:
        if args.debug:
            raise
        print(f"scratchcnn: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("scratchcnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
