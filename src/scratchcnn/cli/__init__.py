"""The ``scratchcnn`` command.

Each sub-command lives in its own module under :mod:`scratchcnn.cli` with a
``register(subparsers)`` function that adds its parser and sets ``handler`` to a function
taking the parsed arguments and returning the exit status.

Exit status: 0 success, 1 a failure the user can fix (one line on stderr: what is wrong
and how to fix it), 2 a usage error (one line too), 130 interrupted. ``--debug`` shows
the traceback of any failure; an unexpected exception (a bug) always shows it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from scratchcnn import __version__
from scratchcnn.errors import ScratchCNNError

# Sub-command modules (``scratchcnn.cli.<name>_cmd``), in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "classic",
    "train",
    "evaluate",
    "predict",
    "summary",
    "data",
    "serve",
)


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command registered."""
    parser = OneLineErrorParser(
        prog="scratchcnn",
        description="A convolutional neural network written from scratch in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"scratchcnn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"scratchcnn.cli.{name}_cmd")
        module.register(subparsers)
    for command in _nested_parsers(parser):
        # Also accept --debug after a sub-command; SUPPRESS keeps the global value when
        # it is not given there.
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _nested_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command parser below ``parser``, at any depth."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += [child, *_nested_parsers(child)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors, --help, --version
        return exc.code if isinstance(exc.code, int) else 2
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
    except OSError as exc:  # the environment's doing: a full disk, a read-only folder...
        if args.debug:
            raise
        print(f"scratchcnn: error: {_describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("scratchcnn: interrupted", file=sys.stderr)
        return 130


def _describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    target = f"{exc.filename}: " if exc.filename else ""
    return f"{target}{reason}".rstrip(": ") or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
