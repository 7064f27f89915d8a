"""Every error class of the project, and the did-you-mean helper their messages use.

Every error a user can cause derives from AudiostyleError and renders as one line. Plain data: this
module imports nothing of the project, so every layer (engine, modes, report, nodes) can use it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass


def did_you_mean(word: str, candidates) -> str | None:
    """The closest of ``candidates`` to a misspelt ``word``, or None when none is close."""
    match = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


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


class NodeFailed(AudiostyleError):
    """A node raised a user-facing error; the message names the node."""


class ReportError(AudiostyleError):
    """A report that cannot be written where it was asked for."""


class BatchSetupError(AudiostyleError):
    """Folders or graph that batch/watch cannot work with; nothing was processed."""


class UnsafeOutputError(AudiostyleError):
    """An output path that would land outside the output folder."""


class GraphChangedError(AudiostyleError):
    """The graph file of a running watch changed; the watch stops so that no file mixes two graphs."""


class PluginError(AudiostyleError):
    """A plugin that cannot be loaded or configured as asked (reported by the worker)."""

    def __init__(self, message: str, location: tuple = ()):
        super().__init__(message)
        self.location = location  # where in the chain entry, e.g. ("params", "ratio")


class PluginProcessError(AudiostyleError):
    """The plugin worker crashed or hung; only the job it was running failed."""


class ChainError(Exception):
    """A problem with one fx chain entry, found while parsing it; the fx node turns it into a located
    validation issue. ``key`` (and ``param``) say where it is in the entry."""

    def __init__(self, message: str, key: str | None = None, param: str | None = None):
        super().__init__(message)
        self.key = key
        self.param = param

    def location(self) -> tuple:
        return tuple(k for k in (self.key, self.param) if k is not None)
