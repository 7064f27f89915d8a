"""Every error a user can cause derives from AudiostyleError and renders as one line."""
from __future__ import annotations

from dataclasses import dataclass


class AudiostyleError(Exception):
    """A problem the user can fix; the CLI prints it as one line, without a traceback."""

    exit_code = 1


class ParameterError(AudiostyleError):
    """A parameter value that a node cannot work with."""


class InputFileError(AudiostyleError):
    """An input file that is missing, unreadable, corrupt, silent or too short."""


class DeviceError(AudiostyleError):
    """A compute device that was asked for but is not available."""


@dataclass(frozen=True, order=True)
class SourceLoc:
    file: str
    line: int  # 1-based, as editors show it
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Issue:
    """One problem found in a graph, with where it is and what is expected."""

    loc: SourceLoc | None
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message

    def sort_key(self):
        if self.loc is None:
            return ("", 0, 0, self.message)
        return (self.loc.file, self.loc.line, self.loc.col, self.message)


class GraphValidationError(AudiostyleError):
    """All problems of a graph at once, sorted by position."""

    exit_code = 2

    def __init__(self, issues: list[Issue]):
        self.issues = sorted(issues, key=Issue.sort_key)
        if len(self.issues) == 1:
            super().__init__(str(self.issues[0]))  # one problem, one line
        else:
            super().__init__("\n".join([f"{len(self.issues)} errors:"] + [str(i) for i in self.issues]))
