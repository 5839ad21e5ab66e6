"""Imported by the fork server the pool's workers are forked from (flows/runners.py): the batch
step's libraries and the run's spaCy models, loaded once for all the workers.

A fork server imports the modules it is told to preload and nothing else runs there; this module
is that list's one entry. The models are named in the environment the command gave the fork
server (`MODELS_ENV`), the only channel there is to it.
"""

from __future__ import annotations

import os
import signal

from newslake.flows.runners import MODELS_ENV


def _preload() -> None:
    """Import the batch step and load the models. Whatever fails here is left to each worker's
    own start (`_start_worker`), which loads what is missing and reports it with the run.
    Ctrl-C, which reaches the command's whole process group, is left to the command: the fork
    server ignores it too, but only from when its preload is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from newslake.tasks.pages import batch  # noqa: F401 - its imports are the start-up
        from newslake.tasks.text.models import load_pipeline

        for model in filter(None, os.environ.get(MODELS_ENV, "").split(",")):
            load_pipeline(model)
    except Exception:  # noqa: BLE001, S110 - the worker's own start reports it
        pass


_preload()
