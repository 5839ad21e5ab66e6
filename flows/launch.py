"""Run one flow as a command: its Prefect API, its task runner, its summary and its exit code.

The Prefect API is found, or its temporary server started in the background, before the flow's
module (and with it Prefect, spaCy, trafilatura …) is imported: the server boots while the
libraries load, not after.

A run's data does not depend on Prefect (flows/prefect_api.py), so a Prefect API that stops
answering is handled by when it went away:
- before the commit: the flow fails in Prefect's client; the command says which API stopped
  answering and exits 1 (the lake is untouched: what the run staged is settled by the next run);
- after the commit: the run's summary says that Prefect could not be told, and the command does
  not wait out Prefect's retries of the run's final state — `_ORPHANED_WAIT_S` after the report
  it prints the summary and exits 0 (the lake and its run log are complete).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from newslake.flows.stopping import abandon
from newslake.flows.summary import finish
from newslake.tasks.errors import NewslakeError, StorageError
from newslake.tasks.settings import Settings

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

__all__ = ["needs_workers", "run_flow"]

err = Console(stderr=True)

# How long Prefect's engine may go on retrying a run's final state once the run has committed
# and found its API gone; a server that is back by then still gets it.
_ORPHANED_WAIT_S = 5.0


def needs_workers(files: list[str], *, web: bool, settings: Settings) -> bool:
    """Whether a run over these inputs will hand batches to worker processes: a run of at most
    `run.inline_pages` pages is processed in the flow's own process (flows/pipeline.py), and
    starting workers for it would only take CPU from it. Files are counted by reading no
    further than that many pages, as the flow itself does first."""
    from itertools import islice

    from newslake.tasks.pages.load import iter_pages

    run = settings.run
    if run.runner != "process":
        return False
    if web or run.inline_pages == 0 or len(files) > run.inline_pages:
        return True
    pages = iter_pages(files, settings.limits)
    try:
        return sum(1 for _ in islice(pages, run.inline_pages + 1)) > run.inline_pages
    finally:
        pages.close()


def _no_heartbeat(temporary: bool) -> AbstractContextManager[object]:
    """No flow heartbeat on a temporary server: nobody watches it for crashed runs, and
    stopping the heartbeat thread costs every run about a second."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
        if temporary
        else nullcontext()
    )


def _quiet_lost_events() -> None:
    """Prefect logs each event it cannot deliver, with its whole payload, every few seconds
    while its API is away; newslake says it once, in the summary and the run log."""
    for name in ("prefect.events.clients", "prefect._internal.concurrency"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _report_if_orphaned(done: threading.Event, before: object) -> None:
    """In a thread: once this run has published a summary saying Prefect could not be told,
    give Prefect's engine `_ORPHANED_WAIT_S` to finish; then print the summary and exit."""
    from newslake.flows.report import last_published

    while not done.wait(0.2):
        summary = last_published()
        if summary is None or summary is before or not summary.unreported:
            continue
        if done.wait(_ORPHANED_WAIT_S):
            return
        code = 0
        try:
            finish(summary)
        except typer.Exit as exc:
            code = exc.exit_code
        abandon(code, f"newslake: {summary.unreported}; not waiting for it any longer")


@contextmanager
def _task_runner(settings: Settings, warm: bool) -> Iterator[TaskRunner[Any]]:
    """The run's task runner, its workers started now when `warm`, and stopped at the end
    even when the flow never got to use them. Their fork server starts first, before this
    process imports Prefect with the runner's module (flows/forkserver.py)."""
    from newslake.flows import forkserver

    models = forkserver.worker_models(settings)
    if warm and settings.run.runner == "process":
        forkserver.start(models)
    from newslake.flows.runners import WarmProcessPool, task_runner

    runner = task_runner(settings.run, models)
    if not (warm and isinstance(runner, WarmProcessPool)):
        yield runner
        return
    runner.warm()
    try:
        yield runner
    finally:
        runner.__exit__(None, None, None)


def run_flow(entry: str, settings: Settings, *, warm: bool = False, **parameters: Any) -> int:
    """Run one of newslake's flows ("module:flow") on the task runner the settings choose,
    print its summary, and return the command's exit code: 1 when it failed (with the reason
    on stderr) or a part of it failed. With `warm`, the worker processes are started (and
    load their libraries and models) before the flow's module is imported, while Prefect's
    server boots (flows/runners.py)."""
    import httpx

    from newslake.flows.prefect_api import PrefectUnreachableError, prefect_api

    code = 0
    api = None
    done = threading.Event()
    try:
        with prefect_api() as api, _task_runner(settings, warm) as runner:
            # Imported once the server is starting: with them comes Prefect (seconds).
            from newslake.flows.report import last_published

            module, name = entry.split(":")
            flow = getattr(importlib.import_module(module), name)
            _quiet_lost_events()
            configured = flow.with_options(task_runner=runner)
            with api.ready(), _no_heartbeat(api.temporary):
                before = last_published()
                watcher = threading.Thread(
                    target=_report_if_orphaned, args=(done, before), daemon=True
                )
                watcher.start()
                try:
                    summary = configured(settings=settings, **parameters)
                except OSError as exc:
                    raise StorageError(exc) from exc
                except httpx.HTTPError as exc:
                    summary = last_published()
                    if summary is None or summary is before:
                        why = f"any more ({type(exc).__name__}): nothing was committed"
                        raise PrefectUnreachableError(str(api.url), why) from exc
                    summary.unreported = summary.unreported or (
                        f"Prefect could not be told the run's end: {type(exc).__name__}: {exc}"
                    )
                finally:
                    done.set()
    except NewslakeError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        code = 1
    else:
        try:
            finish(summary)
        except typer.Exit as exc:
            code = exc.exit_code
    if api is not None and api.undelivered:
        abandon(code, f"newslake: Prefect at {api.url} did not take the run's last events")
    if api is not None and api.discard_queued:
        abandon(code)  # the temporary server is gone: nothing of Prefect's is left to send
    return code
