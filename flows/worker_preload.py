"""Imported by the fork server the pool's workers are forked from (flows/forkserver.py): the batch
step's libraries and the run's spaCy models, loaded once for all the workers.

A fork server imports the modules it is told to preload and nothing else runs there; this module
is that list's one entry. The models are named in the environment the command gave the fork
server (`MODELS_ENV`), the only channel there is to it.
"""

from __future__ import annotations

import gc
import os
import signal

from newslake.flows.forkserver import MODELS_ENV

# The process the preload ran in and the models it loaded: in a worker forked from the fork
# server, the fork server's pid (tests/test_processes.py checks the workers inherit the models).
LOADED: tuple[int, tuple[str, ...]] | None = None


def _preload() -> None:
    """Import the batch step and load the models. Whatever fails here is left to each worker's
    own start (`_start_worker`), which loads what is missing and reports it with the run.
    Ctrl-C, which reaches the command's whole process group, is left to the command: the fork
    server ignores it too, but only from when its preload is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import datasketch  # noqa: F401 - imported where signatures are made (tasks/lake/stories.py)

        from newslake.tasks.pages import batch  # noqa: F401 - its imports are the start-up
        from newslake.tasks.text.models import load_pipeline

        models = tuple(filter(None, os.environ.get(MODELS_ENV, "").split(",")))
        for model in models:
            load_pipeline(model)
        global LOADED  # noqa: PLW0603 - set once, by the one import of this module
        LOADED = (os.getpid(), models)
    except Exception:  # noqa: BLE001, S110 - the worker's own start reports it
        pass
    # What is loaded now lives as long as the workers: out of the garbage collector's sight, its
    # objects are neither traversed by each worker's collections nor written to (and so copied
    # into each worker's own memory) by them.
    gc.freeze()


_preload()
