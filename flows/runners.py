"""Which task runner a flow's batches run on: worker processes here, or a Dask cluster.

The choice is a setting (`[run] runner`, `NEWSLAKE_RUN_RUNNER`, `--runner`), so the same flows
run on a laptop and on a cluster. Every runner gets single-threaded worker processes: extraction
and NER hold the GIL, so threads would not add throughput.

A worker's start-up is most of a short run's fixed cost: an interpreter that imports Prefect,
polars, trafilatura and spaCy and loads the model, seconds of CPU before its first page. The
process pool's workers are therefore forked from a fork server that did that once
(flows/forkserver.py), and started warm (`WarmProcessPool.warm`) as soon as the command knows
it will need them, while the Prefect server boots and the flow lists its inputs, rather than
after the first batch is handed to them.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor
from types import SimpleNamespace
from typing import Any, NoReturn, Self, cast

from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from newslake.flows import forkserver
from newslake.tasks.settings import RunOptions, load_settings

__all__ = ["WarmProcessPool", "configured_runner", "task_runner"]


def task_runner(run: RunOptions, models: tuple[str, ...] = ()) -> TaskRunner[Any]:
    """The task runner `run` asks for: a process pool, a Dask scheduler, or a LocalCluster.
    The process pool's workers load `models` (spaCy pipelines) when they start."""
    if run.runner == "dask":
        from prefect_dask.task_runners import DaskTaskRunner

        if run.dask_address:
            return DaskTaskRunner(address=run.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": run.worker_count,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return WarmProcessPool(
        max_workers=run.worker_count, initializer=_start_worker, initargs=(models,)
    )


def _start_worker(models: tuple[str, ...]) -> None:
    """In a new worker process: ignore Ctrl-C, go when the command goes, and have the batch
    step's libraries and the models loaded, so that the worker's first batch costs what its
    later ones do. A worker forked from the fork server has them already; this loads what the
    fork server could not."""
    _ignore_sigint()
    _exit_with_parent()
    atexit.register(_exit_at_once)
    from newslake.tasks.pages import batch  # noqa: F401 - its imports are the start-up
    from newslake.tasks.text.models import load_pipeline

    for model in models:
        load_pipeline(model)


def _start_all(executor: Executor, count: int) -> None:
    """Give each of `count` workers a trivial task, which starts them. A pool broken meanwhile
    is not this thread's to report: the flow's first batch does."""
    with contextlib.suppress(Exception):
        for _ in range(count):
            executor.submit(_started)


def _started() -> int:
    """A task for a fresh worker: it returns once the worker's initializer has run."""
    return 0


@contextlib.contextmanager
def _prefect_context(context: multiprocessing.context.BaseContext) -> Iterator[None]:
    """Have Prefect's process pool take its processes from `context`: it names the spawn
    context in its `__enter__` (prefect.task_runners, 3.9), reached through its module's
    `multiprocessing` name, which is replaced for the call."""
    import prefect.task_runners as runners

    runners.multiprocessing = SimpleNamespace(get_context=lambda _: context)  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        runners.multiprocessing = multiprocessing  # type: ignore[attr-defined]


class WarmProcessPool(ProcessPoolTaskRunner):
    """Prefect's process pool, whose workers can be started before the flow run begins.

    `warm()` enters the pool and gives each worker a trivial task, so that every worker
    process is spawned at once and runs its initializer (`_start_worker`) in the background.
    The flow run then uses this pool as it is: Prefect enters a *duplicate* of a flow's
    runner, so a started pool duplicates to itself, and entering it again is a no-op.
    """

    def warm(self) -> None:
        """Start every worker now; their start-up runs while the caller goes on.

        The workers are asked for from a thread: the first waits for the fork server to have
        loaded the libraries and models, seconds in which the caller imports its own."""
        if not self._started:
            self.__enter__()
        executor = self._executor
        if executor is not None:
            count = self._max_workers or 1
            threading.Thread(
                target=_start_all, args=(executor, count), daemon=True, name="newslake-warm"
            ).start()

    def duplicate(self) -> Self:
        return self if self._started else super().duplicate()

    def __reduce__(self) -> tuple[Any, ...]:
        # The flow (and its runner) travels with each task to the workers: what a started pool
        # holds (its executor, its message queue) cannot, and a worker never uses it.
        return (type(self), (self._max_workers, None, self._initializer, self._initargs))

    def __enter__(self) -> Self:
        if self._started:
            return self
        models = cast(tuple[str, ...], self._initargs[0] if self._initargs else ())
        with _prefect_context(forkserver.context(models)):
            return super().__enter__()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if self._started:
            super().__exit__(exc_type, exc_value, traceback)
            forkserver.stop()


def _ignore_sigint() -> None:
    """In a worker process: leave Ctrl-C to the flow process. A terminal's Ctrl-C reaches the
    whole process group, workers included; a worker interrupted mid-import or mid-batch breaks
    the pool, and the flow's shutdown then waits on it. The flow process stops the pool itself
    (pending batches are dropped, a running one finishes), and SIGTERM still ends a worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_at_once() -> None:
    """In a worker process, as its interpreter exits: flush the output and leave, once the
    exit handlers registered after this one (Prefect's, which deliver its queued events and
    logs) have run. What is left, tearing down the model and every module object by object,
    took two workers 1.3 s at the end of every run, while the command waited for them."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _exit_with_parent() -> None:
    """In a worker process: exit as soon as the command's process is gone. A command that dies
    without unwinding (killed, out of memory, a native library aborting on a signal mid-import)
    cannot stop its pool; its workers, left to init, would wait forever on a queue nobody
    writes, holding the command's output pipe open. The parent's sentinel (a pipe the kernel
    closes when it exits) says so even when it went before this worker got here; the kernel's
    parent-death signal would not: it follows the *thread* that started the worker."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="newslake-parent-watch").start()


class _Configured(TaskRunner[PrefectFuture[Any]]):
    """The runner config/ and the environment name, chosen when a flow run starts.

    Prefect enters `duplicate()` of a flow's runner at the start of each run, so the settings
    are read then — not when the flow's module is imported, where one bad setting would make
    the module fail to import and the error would belong to no run. A deployment, which loads
    the flow from its entrypoint, gets the configured runner this way; the CLI passes its own.
    """

    def duplicate(self) -> Self:
        settings = load_settings()
        return cast(Self, task_runner(settings.run, forkserver.worker_models(settings)))

    def submit(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "a flow's configured runner is replaced by the real one when the run starts"
        raise RuntimeError(msg)


def configured_runner() -> TaskRunner[Any]:
    """A flow's default runner: the one the settings name, resolved when a run starts."""
    return _Configured()  # type: ignore[no-untyped-call]  # Prefect's __init__ is untyped
