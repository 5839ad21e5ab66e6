"""The fork server the process pool's workers are forked from, started before Prefect is imported.

A worker started as a fresh interpreter imports Prefect, polars, trafilatura and spaCy and loads
the model: 3.7 s of CPU on this machine, paid by every worker of every run. A fork server pays it
once (its preload, flows/worker_preload.py) and forks each worker from the loaded interpreter.
It is started the moment a command knows it will need workers, beside the Prefect server and
before the command's own imports (bench/RESULTS.md, "Workers forked from a loaded interpreter").

This module imports nothing heavy: it runs before Prefect is loaded.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newslake.tasks.settings import Settings

__all__ = ["MODELS_ENV", "context", "start", "stop", "worker_models"]

# Where the fork server's preload finds the models to load: the environment is the one channel
# to it (it is started from this process's environment at that moment).
MODELS_ENV = "NEWSLAKE_WORKER_MODELS"
_PRELOAD = "newslake.flows.worker_preload"


def worker_models(settings: Settings) -> tuple[str, ...]:
    """The spaCy models a run's workers load before their first batch: those of the entity
    step's languages, none when the step is off."""
    entities = settings.entities
    return tuple(model for _, model in entities.models) if entities.enabled else ()


def context(models: tuple[str, ...]) -> BaseContext:
    """The context that forks the pool's workers from a fork server preloading the batch step and
    `models`; the fork server itself starts with the first worker asked for, unless `start` ran.
    Where there is no fork server (Windows), the spawn context: fresh interpreters, as Prefect's
    own pool starts them."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    os.environ[MODELS_ENV] = ",".join(models)
    forks = multiprocessing.get_context("forkserver")
    forks.set_forkserver_preload([_PRELOAD])
    return forks


def start(models: tuple[str, ...]) -> None:
    """Start the fork server now, for a command that will need workers. Returns at once: the
    preload runs in the fork server, and the first worker asked for waits for it.

    Only a command calls this: a pool is also entered inside each worker, by Prefect's engine
    restoring the flow's context around a task, and must not start a fork server there."""
    if context(models).get_start_method() == "forkserver":
        forkserver.ensure_running()


def stop() -> None:
    """Stop the fork server once the pool's workers are gone. It would otherwise live as long
    as this process, holding the models' memory: a test session, or a program running flow
    after flow. `_stop` is the standard library's own (its tests stop the fork server so)."""
    with contextlib.suppress(AttributeError, OSError, ChildProcessError):
        forkserver._forkserver._stop()  # type: ignore[attr-defined]  # noqa: SLF001 - no public way
