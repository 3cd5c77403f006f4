"""Ctrl-C and SIGTERM as KeyboardInterrupt, held back while a git step runs.

A git child killed halfway leaves locks, a half-written index or a merge that finished after
we "restored" the project. So git steps run in their own session (a terminal's Ctrl-C reaches
only scaffold) and an interrupt that arrives meanwhile is raised when the step has ended: the
flows then see either the step done or not started, and put everything back from there.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_held = 0
_pending = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _held:
        _pending = True
        return
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt (held back inside `held()`)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


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
