"""Errors a user can fix, kept apart from programming errors.

The command line prints a :class:`ScratchCNNError` as one line (its message and, when
given, a hint on how to fix it) and exits with status 1; any other exception is a bug
and keeps its traceback.

An error is raised either with a finished sentence (``ScratchCNNError("...")``) or with
a key of the message catalogue and its values (``ModelFileError(message_key=
"error.model.missing", path=path)``). The second kind is rendered by
:func:`scratchcnn.i18n.tr` each time it is shown, so it reaches the user in the language
the command line chose, even when the library raised it before that choice was known.
"""

from __future__ import annotations


class ScratchCNNError(Exception):
    """A failure caused by the user's input or environment, not by a bug.

    ``hint`` says how to fix it; the CLI prints it after the message. ``message_key`` and
    ``hint_key`` name catalogue entries (:data:`scratchcnn.i18n.MESSAGES`) formatted with
    ``values``; they take the place of ``message`` and ``hint``.
    """

    def __init__(
        self,
        message: str | None = None,
        hint: str | None = None,
        *,
        message_key: str | None = None,
        hint_key: str | None = None,
        **values: object,
    ) -> None:
        if message is None and message_key is None:
            raise TypeError("ScratchCNNError needs a message or a message_key")
        self.message_key = message_key
        self.hint_key = hint_key
        self.values = values
        self._message = message
        self._hint = hint
        super().__init__(message if message is not None else message_key)

    @property
    def message(self) -> str:
        """The sentence that says what is wrong, in the current language when keyed."""
        if self.message_key is not None:
            return _render(self.message_key, self.values)
        return str(self._message)

    @property
    def hint(self) -> str | None:
        """How to fix it, or None."""
        if self.hint_key is not None:
            return _render(self.hint_key, self.values)
        return self._hint

    def __str__(self) -> str:
        if self.hint:
            return _render("error.with_hint", {"message": self.message, "hint": self.hint})
        return self.message


def _render(key: str, values: dict[str, object]) -> str:
    from scratchcnn.i18n import tr

    return tr(key, **values)


class DataError(ScratchCNNError):
    """A data file is missing, damaged, or not what it claims to be."""


class DownloadError(DataError):
    """A data set could not be fetched or failed its checksum."""


class ModelFileError(ScratchCNNError):
    """A model or checkpoint file is missing, damaged, foreign or incompatible."""


class TrainingError(ScratchCNNError):
    """Training cannot go on (for instance the loss became NaN or infinite)."""
