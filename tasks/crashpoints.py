"""Named crash points, so tests can kill a run exactly where a real crash would hurt most.

`NEWSLAKE_CRASH_AT=<point>[:<n>]` makes the n-th arrival (default the first) at `<point>`, in
any one process, kill the whole run — flow process and workers, one process group — with
SIGKILL: no `finally`, no `atexit`, just like a power cut or the OOM killer. Unset (always, in
production) a crash point costs one dictionary lookup. tests/test_crash.py uses them to prove
that a re-run after a crash anywhere leaves the lake as an uninterrupted run would.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from threading import Lock
from typing import Literal, get_args

from newslake.tasks.errors import ConfigError

__all__ = ["CRASH_POINTS", "CrashPoint", "crash_point"]

# Where a run can be killed: after a batch staged its rows (mid-run), after a commit's temporary
# file (a table partition or the index; not a staged batch) is written but before it is moved
# into place (mid-write), after a partition was replaced but
# before the rest of the commit (mid-commit), after one table's commit (between tables), after a
# chunk of fetches reached the raw zone (mid-fetch).
CrashPoint = Literal[
    "batch-staged", "file-written", "partition-replaced", "table-committed", "raw-staged"
]
CRASH_POINTS: tuple[str, ...] = get_args(CrashPoint)

_arrivals: Counter[str] = Counter()
_counting = Lock()  # a commit writes its days on threads


def crash_point(name: CrashPoint) -> None:
    """Kill the run here if NEWSLAKE_CRASH_AT names this point (and this arrival). A point
    that does not exist is an error, so a mistyped test cannot pass by never crashing."""
    spec = os.environ.get("NEWSLAKE_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point not in CRASH_POINTS:
        msg = f"NEWSLAKE_CRASH_AT={spec!r}: no crash point {point!r} ({', '.join(CRASH_POINTS)})"
        raise ConfigError(msg)
    if point != name:
        return
    with _counting:
        _arrivals[name] += 1
        arrival = _arrivals[name]
    if arrival == int(nth or 1):
        os.killpg(os.getpgrp(), signal.SIGKILL)
