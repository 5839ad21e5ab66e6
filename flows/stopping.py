"""Stopping a command within seconds, whatever it is waiting on, and leaving nothing behind.

A command stops on SIGINT (Ctrl-C) or SIGTERM (`systemctl stop`, `kill`) by unwinding: every
`with` block closes — the lake's lock, the worker pool, the temporary Prefect server. Unwinding
can itself wait: on a Prefect API that has gone away (each client call retries, each queued
event tries to reconnect for seconds), on a worker pool mid-import, on a cluster. So the first
signal also arms a deadline: `COMMAND_DEADLINE_S` later, whatever is still running below this
process is killed and the process exits (128 + the signal, as a shell reports it). A second
signal stops it at once. The lake stays whole either way: a run's rows are invisible until its
commit, and the next run settles what a killed one staged; a local lake's lock is the kernel's
and goes with the process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

__all__ = [
    "COMMAND_DEADLINE_S",
    "abandon",
    "descendants",
    "remove_on_exit",
    "stop_now",
    "stop_on_signals",
    "stopping_takes",
]

# Under systemd's and docker's default grace period (90 s / 10 s): the unwinding gets 7 s, the
# kill and exit take well under a second more.
COMMAND_DEADLINE_S = 7.0
_deadline_s = COMMAND_DEADLINE_S


def stopping_takes(seconds: float) -> None:
    """Give this command `seconds`, not `COMMAND_DEADLINE_S`, from the first signal to its
    exit: for a command that stops in stages of its own (serve: its runs cancelled, then
    killed, then everything), whose last stage must come before this deadline cuts it off."""
    global _deadline_s
    _deadline_s = seconds


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children first found, then theirs), from /proc."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            stack.extend(children)
    return found


# Folders this process made that a graceful exit removes and `os._exit` would leave behind.
_leftovers: list[Path] = []


def remove_on_exit(folder: Path) -> None:
    """Have `stop_now` and `abandon` remove `folder` (Prefect's runner removes its storage
    folder only when it stops gracefully)."""
    _leftovers.append(folder)


def _kill_below() -> None:
    """Kill every process this one started, and remove what exit handlers, which `os._exit`
    skips, would have: the registered folders and multiprocessing's (`pymp-*`, the fork
    server's socket; every run would leave one). multiprocessing keeps that folder's path where
    `util.get_temp_dir` reads it, and has no public way to ask for it without making one."""
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    process = multiprocessing.current_process()
    ours = process._config.get("tempdir")  # type: ignore[attr-defined]  # noqa: SLF001
    for folder in [ours, *_leftovers]:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def stop_now(signum: int, message: str) -> NoReturn:
    """Kill every process this one started (workers, a cluster, a Prefect server), say why on
    stderr, and exit with 128 + `signum`."""
    _kill_below()
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def abandon(code: int, message: str = "") -> NoReturn:
    """Exit with `code` without waiting for Prefect's background services: they drain at
    interpreter exit, and with their API gone each queued event retries for seconds. Called only
    once the command's own work is done and everything it started has stopped."""
    _kill_below()
    sys.stdout.flush()
    if message:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()
    os._exit(code)


# Signals this process sent itself again (`_raise_interrupt`), which `_watch` must not count as
# the user's second signal.
_resent = 0


def _importing(frame: FrameType | None) -> bool:
    """Whether the interrupted code runs under an import. A native module's import calls back
    into Python (duckdb's builds enums): an exception raised there aborts the whole process
    ("Critical nanobind error"), and the command's workers are left without it."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _send_again(signum: int) -> None:
    global _resent
    _resent += 1
    os.kill(os.getpid(), signum)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Unwind the command; under an import, a moment later (the signal is sent again)."""
    if _importing(frame):
        later = threading.Timer(0.1, _send_again, args=(signum,))
        later.daemon = True
        later.start()
        return
    raise KeyboardInterrupt


def _watch(wakeup: int) -> None:
    """In a thread: read the signal numbers Python writes to its wake-up fd. That write happens
    for every signal with a Python handler, whoever installed it — Prefect's flow engine puts its
    own SIGTERM handler in place for the length of a run — so the deadline holds in every state."""
    global _resent
    armed = False
    while True:
        try:
            data = os.read(wakeup, 64)
        except OSError:
            return
        if not data:
            return
        for signum in data:
            if signum not in (signal.SIGINT, signal.SIGTERM):
                continue
            if _resent:
                _resent -= 1
                continue
            if armed:
                stop_now(signum, "stopped at once on the second signal (the lake is whole)")
            armed = True
            message = (
                f"stopped: not done {_deadline_s:g} s after the signal, so what it had "
                "started was killed (the lake is whole; the next run settles what it staged)"
            )
            timer = threading.Timer(_deadline_s, stop_now, args=(signum, message))
            timer.daemon = True
            timer.start()


def stop_on_signals() -> None:
    """SIGINT and SIGTERM unwind the command (KeyboardInterrupt), within a deadline."""
    if threading.current_thread() is not threading.main_thread():
        return
    # SIGINT too: a command started in the background by a script inherits SIGINT ignored, and
    # a service manager or a test sending it still means "stop".
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), daemon=True, name="newslake-stop").start()
