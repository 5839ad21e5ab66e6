"""Each post-processing step of newslake's entities, measured alone against the bare model.

Run: `.venv/bin/python -m bench.entity_steps [--split development|held out]`. newslake's entity
step (`tasks/text/entities.py`) takes spaCy's mentions and re-types, merges and drops them. Here
each step is switched off on its own (the module's rule replaced by a no-op for the length of
one scoring), and GUM and CoNLL-2003 are scored as in `bench.entities`: the step's worth is
newslake with it minus newslake without it. A step is kept only when it helps on both sets, and
is checked on the held-out split once, after the decision (bench/RESULTS.md counts the reads).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import spacy

from bench.corpus import require
from bench.entities import (
    _SPACY_TO_CONLL,
    gum_splits,
    mention_f1,
    named,
    read_conll,
    read_gum,
    score,
)
from newslake.tasks.settings import load_settings
from newslake.tasks.text import entities as ent
from newslake.tasks.text.models import load_pipeline, model_location

_NEVER = re.compile(r"(?!)")  # a pattern that matches nothing


def _set(**attrs: Any) -> Callable[[], Iterator[None]]:
    """A switch that sets module attributes of tasks/text/entities.py for one scoring."""

    @contextmanager
    def switch() -> Iterator[None]:
        saved = {name: getattr(ent, name) for name in attrs}
        for name, value in attrs.items():
            setattr(ent, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(ent, name, value)

    return switch


def _plain_vote(items: Any, *, single: bool, evidence: bool = True) -> Any:
    """The type most mentions agree on, without the one-word-person and place-cue rules."""
    return _REAL_VOTE(items, single=False, evidence=True)


_REAL_VOTE = ent._vote

# Each step, and how it is switched off.
STEPS: dict[str, Callable[[], Any]] = {
    "type vote across a batch (vote_across)": _set(vote_across=lambda results: None),
    "one-word person needs evidence, place cue (_vote)": _set(_vote=_plain_vote),
    "place cue only (_PLACE_CUE)": _set(_PLACE_CUE=_NEVER),
    "role apposition makes a person (_ROLE_AFTER)": _set(_ROLE_AFTER=_NEVER),
    "product guard (_NOT_OURS)": _set(_NOT_OURS=frozenset()),
    "title-of drop (_TITLE_TAIL)": _set(_TITLE_TAIL=_NEVER),
    "spelling merge (_merge_spellings)": _set(_merge_spellings=lambda e: e),
    "acronym merge (_merge_acronyms)": _set(_merge_acronyms=lambda e: e),
    "country names (country_name)": _set(country_name=lambda name: name),
}


def _gum(nlp: Any, docs: list[tuple[str, Any]], labels: set[str], batch: int) -> float:
    found = ent.find_entities(nlp, [("", t) for t, _ in docs], labels, batch)
    names = [{named(e.name, e.coarse == "person") for e in ents} for ents in found]
    return score(zip(names, [g for _, g in docs], strict=True))[2]


def _conll(
    nlp: Any, docs: list[tuple[str, Any]], labels: set[str], batch: int, *, own: bool = False
) -> float:
    """Exact mention F1; with `own`, each mention keeps the model's label instead of its
    entity's (the type vote within an article switched off, everything else on)."""
    found = ent.find_entities(nlp, [("", t) for t, _ in docs], labels, batch)
    spans = [
        {(m.start, m.end, _SPACY_TO_CONLL[m.label if own else e.label]) for e in ents
         for m in e.mentions if m.start >= 0 and (m.label if own else e.label) in _SPACY_TO_CONLL}
        for ents in found
    ]  # fmt: skip
    return mention_f1(zip(spans, [g for _, g in docs], strict=True))[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="development", choices=["development", "held out"])
    parser.add_argument(
        "--together", default="", help="step numbers (1-based, comma-separated) off at once"
    )
    args = parser.parse_args()
    settings = load_settings()
    labels, batch = set(settings.entities.labels), settings.entities.batch_size
    model = settings.entities.model_for("en") or ""
    nlp = load_pipeline(model)
    bare = spacy.load(model_location(model), exclude=["tagger", "parser", "lemmatizer"])
    gum = [read_gum(p) for p in gum_splits()[args.split]]
    conll_name = "eng.train.gz" if args.split == "development" else "eng.testa.gz"
    conll = read_conll(require("ner/conll2003") / conll_name)

    def bare_gum() -> float:
        names = [
            {named(e.text, e.label_ == "PERSON") for e in d.ents if e.label_ in labels}
            for d in bare.pipe([t for t, _ in gum], batch_size=batch)
        ]
        return score(zip(names, [g for _, g in gum], strict=True))[2]

    def bare_conll() -> float:
        spans = [
            {(e.start_char, e.end_char, _SPACY_TO_CONLL[e.label_]) for e in d.ents
             if e.label_ in _SPACY_TO_CONLL and e.label_ in labels}
            for d in bare.pipe([t for t, _ in conll], batch_size=batch)
        ]  # fmt: skip
        return mention_f1(zip(spans, [g for _, g in conll], strict=True))[2]

    full = (_gum(nlp, gum, labels, batch), _conll(nlp, conll, labels, batch))
    reference = (bare_gum(), bare_conll())
    print(f"`python -m bench.entity_steps --split '{args.split}'` — F1, model `{model}`\n")
    print("| | GUM F1 | CoNLL-2003 F1 |\n|---|---|---|")
    print(f"| bare model | {reference[0]:.3f} | {reference[1]:.3f} |")
    print(f"| newslake, every step | {full[0]:.3f} | {full[1]:.3f} |")
    print("\n| step (switched off alone) | GUM F1 without | step's worth | CoNLL F1 without "
          "| step's worth |\n|---|---|---|---|---|")  # fmt: skip
    if args.together:
        chosen = [list(STEPS)[int(n) - 1] for n in args.together.split(",")]
        with ExitStack() as stack:
            for name in chosen:
                stack.enter_context(STEPS[name]())
            both = (_gum(nlp, gum, labels, batch), _conll(nlp, conll, labels, batch))
        print(f"\nswitched off together: {'; '.join(chosen)}")
        print(f"GUM F1 {both[0]:.3f} ({both[0] - reference[0]:+.3f} vs bare), CoNLL F1 "
              f"{both[1]:.3f} ({both[1] - reference[1]:+.3f} vs bare)")  # fmt: skip
        return
    own = _conll(nlp, conll, labels, batch, own=True)
    print(f"| type vote within an article (each mention keeps the model's label) | — | — "
          f"| {own:.3f} | {full[1] - own:+.3f} |", flush=True)  # fmt: skip
    for name, switch in STEPS.items():
        with switch():
            without = (_gum(nlp, gum, labels, batch), _conll(nlp, conll, labels, batch))
        print(f"| {name} | {without[0]:.3f} | {full[0] - without[0]:+.3f} | {without[1]:.3f} "
              f"| {full[1] - without[1]:+.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
