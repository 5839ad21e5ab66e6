"""Which task runner a flow's batches run on: worker processes here, or a Dask cluster.

The choice is a setting (`[run] runner`, `NEWSLAKE_RUN_RUNNER`, `--runner`), so the same flows
run on a laptop and on a cluster. Every runner gets single-threaded worker processes: extraction
and NER hold the GIL, so threads would not add throughput.
"""

from __future__ import annotations

import signal
from typing import Any, NoReturn, Self, cast

from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from newslake.tasks.settings import RunOptions, load_settings

__all__ = ["configured_runner", "task_runner"]


def task_runner(run: RunOptions) -> TaskRunner[Any]:
    """The task runner `run` asks for: a process pool, a Dask scheduler, or a LocalCluster."""
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
    return ProcessPoolTaskRunner(max_workers=run.worker_count, initializer=_ignore_sigint)


def _ignore_sigint() -> None:
    """In a worker process: leave Ctrl-C to the flow process. A terminal's Ctrl-C reaches the
    whole process group, workers included; a worker interrupted mid-import or mid-batch breaks
    the pool, and the flow's shutdown then waits on it. The flow process stops the pool itself
    (pending batches are dropped, a running one finishes), and SIGTERM still ends a worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Configured(TaskRunner[PrefectFuture[Any]]):
    """The runner config/ and the environment name, chosen when a flow run starts.

    Prefect enters `duplicate()` of a flow's runner at the start of each run, so the settings
    are read then — not when the flow's module is imported, where one bad setting would make
    the module fail to import and the error would belong to no run. A deployment, which loads
    the flow from its entrypoint, gets the configured runner this way; the CLI passes its own.
    """

    def duplicate(self) -> Self:
        return cast(Self, task_runner(load_settings().run))

    def submit(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "a flow's configured runner is replaced by the real one when the run starts"
        raise RuntimeError(msg)


def configured_runner() -> TaskRunner[Any]:
    """A flow's default runner: the one the settings name, resolved when a run starts."""
    return _Configured()  # type: ignore[no-untyped-call]  # Prefect's __init__ is untyped
