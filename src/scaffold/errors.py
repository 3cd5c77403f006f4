"""One exception family; the CLI maps each to a one-line message and an exit code."""

from __future__ import annotations

import errno
import os

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFLICTS = 3
EXIT_UPDATE_AVAILABLE = 4  # `update --check`: an update is there to merge
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM, as a shell reports a death by SIGINT (128 + 2)


class ScaffoldError(Exception):
    """An expected failure: a message saying what is wrong and a hint saying what to do."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class BadInput(ScaffoldError):
    """The user asked for something we refuse; nothing was written."""

    exit_code = EXIT_USAGE


class OperationFailed(ScaffoldError):
    """A render, git step or check failed."""

    exit_code = EXIT_FAILED


# What to do when the operating system says no, by errno.
_OS_HINTS = {
    errno.ENOSPC: "free some space on that file system, or choose another place",
    errno.EDQUOT: "free some of your disk quota, or choose another place",
    errno.EROFS: "that file system is read-only; choose a writable place",
    errno.EACCES: "choose a place you may write to, or fix its permissions",
    errno.EPERM: "choose a place you may write to, or fix its permissions",
    errno.ENOENT: "check that the path exists",
    errno.ENOTDIR: "a part of the path is a file, not a directory; check the path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.EEXIST: "choose a new name, or remove what is there",
    errno.EMFILE: "too many files are open; close some programs and retry",
}


class SystemRefused(OperationFailed):
    """The operating system refused a file operation (full disk, read-only, permission, ...)."""

    @classmethod
    def from_os_error(cls, error: OSError, doing: str) -> SystemRefused:
        what = os.strerror(error.errno) if error.errno else str(error)
        where = f": {error.filename}" if error.filename else ""
        hint = _OS_HINTS.get(error.errno or 0, "fix the cause and retry")
        return cls(f"could not {doing}{where}: {what}", f"{hint}; nothing was changed")
