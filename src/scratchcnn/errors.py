"""Errors a user can fix, kept apart from programming errors.

The command line prints a :class:`ScratchCNNError` as one line (its message and, when
given, a hint on how to fix it) and exits with status 1; any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations


class ScratchCNNError(Exception):
    """A failure caused by the user's input or environment, not by a bug.

    ``hint`` says how to fix it; the CLI prints it after the message.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class DataError(ScratchCNNError):
    """A data file is missing, damaged, or not what it claims to be."""


class DownloadError(DataError):
    """A data set could not be fetched or failed its checksum."""


class ModelFileError(ScratchCNNError):
    """A model or checkpoint file is missing, damaged, foreign or incompatible."""


class TrainingError(ScratchCNNError):
    """Training cannot go on (for instance the loss became NaN or infinite)."""
