"""Ctrl-C and SIGTERM as KeyboardInterrupt, held back while a git step runs.

A git child killed halfway leaves locks, a half-written index or a merge that finished after
we "restored" the project. So git steps run in their own session (a terminal's Ctrl-C reaches
only scaffold) and an interrupt that arrives meanwhile is raised when the step has ended: the
flows then see either the step done or not started, and put everything back from there.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

_held = 0
_pending = False
_before: dict[int, Any] = {}  # the handlers install() replaced, for release()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _held:
        _pending = True
        return
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt (held back inside `held()`)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        _before.setdefault(signum, signal.signal(signum, _interrupt))


@contextmanager
def held() -> Iterator[None]:
    """Hold interrupts back until the block ends, then raise one that arrived meanwhile."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            _pending = False
            raise KeyboardInterrupt


def release() -> None:
    """The command is over: give the signals back the handlers they had (SIGTERM's default
    ends the process quietly), so none raises into interpreter shutdown."""
    while _before:
        signum, handler = _before.popitem()
        signal.signal(signum, handler)


@contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory that an interrupt can never leave behind: it is made under
    `held()` and removed however the block ends."""
    path: Path | None = None
    try:
        with held():
            path = Path(tempfile.mkdtemp(prefix=prefix))
        yield path
    finally:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
