"""The ``scratchcnn`` command.

Each sub-command lives in its own module under :mod:`scratchcnn.cli` with a
``register(subparsers)`` function that adds its parser and sets ``handler`` to a function
taking the parsed arguments and returning the exit status.

Exit status: 0 success, 1 a failure the user can fix (one line on stderr: what is wrong
and how to fix it), 2 a usage error (one line too), 130 interrupted, 141 stdout's reader
went away (``scratchcnn evaluate m.npz | head -1``: quiet, as Unix tools are). ``--debug`` shows
the traceback of any failure; an unexpected exception (a bug) always shows it.

Language: every text, argparse's own words included, comes from :mod:`scratchcnn.i18n`.
The global ``--lang en|zh`` (before the sub-command) wins, then ``SCRATCHCNN_LANG``, then
the locale. It is read from the raw arguments before the parser is built, since the
parser's help texts are written in it. ``classic --lang`` is another option: it picks the
language of the notebook's own messages and keeps its default (Chinese).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from scratchcnn import __version__, i18n
from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import tr

#: Exit status after stdout's reader closed the pipe: 128 + SIGPIPE, as the shell reports.
CLOSED_PIPE_STATUS = 141

# Sub-command modules (``scratchcnn.cli.<name>_cmd``), in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "classic",
    "train",
    "evaluate",
    "report",
    "predict",
    "summary",
    "data",
    "export",
    "serve",
)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, wrapping by terminal columns so that Chinese wraps too.

    argparse wraps at spaces, and a Chinese sentence has none: it would run past the
    terminal's edge. Here a wide character is a place to break and counts two columns.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap_columns(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = wrap_columns(" ".join(text.split()), width - len(indent))
        return "\n".join(indent + line for line in lines)


def wrap_columns(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces or
    between wide (CJK) characters; a word longer than a line keeps a line of its own.
    """
    import re

    from scratchcnn.tables import display_width

    # Words of narrow characters, single wide characters (with the punctuation that must
    # not start a line), and spaces.
    tokens = re.findall(
        r"[\u2e80-\u9fff\uac00-\ud7ff\uf900-\ufaff][，。；：、）」』！？]*"
        r"|[（「『]?[^\s\u2e80-\u9fff\uac00-\ud7ff\uf900-\ufaff（「『]+|\s+|.",
        text,
    )
    lines: list[str] = []
    line = ""
    for token in tokens:
        if token.isspace():
            token = " "
        if line and display_width((line + token).rstrip()) > width:
            lines.append(line.rstrip())
            line = "" if token == " " else token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line that points at ``--help``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def format_help(self) -> str:
        text = super().format_help()
        if i18n.get_language() == "zh":
            # argparse ends each section's heading with an ASCII colon.
            for group in self._action_groups:
                if group.title:
                    text = text.replace(f"\n{group.title}:\n", f"\n{group.title}：\n")
        return text

    def error(self, message: str) -> NoReturn:
        self.exit(2, tr("cli.usage_error", prog=self.prog, message=message) + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command registered, in the current language."""
    parser = OneLineErrorParser(prog="scratchcnn", description=tr("cli.description"))
    parser.add_argument(
        "--version",
        action="version",
        version=f"scratchcnn {__version__}",
        help=tr("cli.help.version"),
    )
    parser.add_argument("--debug", action="store_true", help=tr("cli.help.debug"))
    parser.add_argument(
        "--lang",
        dest="language",
        choices=i18n.LANGUAGES,
        help=tr("cli.help.lang"),
    )
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


def language_from_argv(argv: Sequence[str], environ: dict[str, str] | None = None) -> str:
    """The language of the command line: ``--lang`` before the sub-command, else the
    environment (:func:`scratchcnn.i18n.resolve_language`).

    An unknown ``--lang`` value is left to the parser to refuse (in the environment's
    language).
    """
    explicit = None
    for index, item in enumerate(argv):
        if item == "--":
            break
        if not item.startswith("-"):
            break  # the sub-command: any --lang after it is the sub-command's own
        if item == "--lang" and index + 1 < len(argv):
            explicit = argv[index + 1]
        elif item.startswith("--lang="):
            explicit = item.split("=", 1)[1]
    if explicit not in i18n.LANGUAGES:
        explicit = None
    return i18n.resolve_language(explicit, environ)


@contextlib.contextmanager
def argparse_language(language: str) -> Iterator[None]:
    """Have argparse write its own words (``usage:``, its errors) in ``language``.

    argparse looks its texts up through ``gettext`` by the names it imported; for the
    time of a parse they point at :data:`scratchcnn.i18n.ARGPARSE_ZH` instead.
    """
    if language != "zh":
        yield
        return
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]

    def gettext(text: str) -> str:
        return i18n.ARGPARSE_ZH.get(text, text)

    def ngettext(singular: str, plural: str, count: int) -> str:
        return gettext(singular if count == 1 else plural)

    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    language = language_from_argv(argv)
    i18n.set_language(language)
    with argparse_language(language):
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # usage errors, --help, --version
            return exc.code if isinstance(exc.code, int) else 2
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return 2
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Call the sub-command's handler; user errors become one translated line."""
    try:
        status = _run_handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except ScratchCNNError as exc:
        if args.debug:
            raise
        print(tr("cli.error", message=exc), file=sys.stderr)
        return 1
    except OSError as exc:  # the environment's doing: a full disk, a read-only folder...
        if args.debug:
            raise
        print(tr("cli.error", message=_describe_os_error(exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(tr("cli.interrupted"), file=sys.stderr)
        return 130


def _run_handler(args: argparse.Namespace) -> int:
    """The command's handler, on ``--threads N`` threads where the command has that option
    (default: one per usable core, when threadpoolctl is there to set BLAS's count)."""
    if not hasattr(args, "threads"):
        return int(args.handler(args) or 0)
    from scratchcnn.threads import limit_threads

    threads = args.threads
    if threads is None:
        from scratchcnn.machine import usable_cores

        try:
            import threadpoolctl  # noqa: F401
        except ImportError:  # the engine then runs as NumPy's BLAS sets itself up
            return int(args.handler(args) or 0)
        threads = usable_cores()
    with limit_threads(threads):
        return int(args.handler(args) or 0)


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do.

    Later writes (Python flushes stdout at exit) go to the null device, so no second
    error appears; the status is the shell's for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return CLOSED_PIPE_STATUS


def _describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    target = f"{exc.filename}: " if exc.filename else ""
    return f"{target}{reason}".rstrip(": ") or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
