"""Which task runner a flow's batches run on: worker processes here, or a Dask cluster.

The choice is a setting (`[run] runner`, `NEWSLAKE_RUN_RUNNER`, `--runner`), so the same flows
run on a laptop and on a cluster. Every runner gets single-threaded worker processes: extraction
and NER hold the GIL, so threads would not add throughput.
"""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

from tasks.settings import RunOptions

__all__ = ["task_runner"]


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
    return ProcessPoolTaskRunner(max_workers=run.worker_count)
