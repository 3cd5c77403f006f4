"""One exception family; the CLI maps each to a one-line message and an exit code."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFLICTS = 3


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
