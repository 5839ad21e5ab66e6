"""Fit the speaker ranker's weights (tasks/text/speaker_ranker.json) on PolNeAR's train split.

Run: `.venv/bin/python -m bench.train_speakers` (needs ../shared/corpus; about two minutes).
For every quote the rules attribute in a train document and that matches a gold direct quote
(bench.quotes' matching: 60% of its words), each candidate of `tasks.text.ranker.candidates` is
one example, labelled by whether its name shares a name word with the gold source (bench.quotes'
speaker test). A logistic regression (scikit-learn, L2) is fitted on them; only its weights are
kept, so the pipeline needs no scikit-learn. Dev is never read here: `python -m bench.quotes`
scores the result on dev beside the rules alone. Refit after changing the features, the rules
or the model under them.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from sklearn.linear_model import LogisticRegression

from bench.corpus import require
from bench.quotes import _documents, _gold, _names, _word_starts
from newslake.tasks.settings import load_settings
from newslake.tasks.text.discourse import Resolver
from newslake.tasks.text.entities import find_entities
from newslake.tasks.text.models import load_pipeline
from newslake.tasks.text.quotes import find_quotes, unattributed
from newslake.tasks.text.ranker import FEATURES, WEIGHTS, Candidate, candidates, score
from newslake.tasks.text.speakers import attribute


def examples(split: str) -> tuple[list[list[Candidate]], list[list[bool]]]:
    """The candidates of every matched quote of a PolNeAR split, and which of them are right."""
    settings = load_settings()
    nlp = load_pipeline(settings.entities.model_for("en") or "")
    options: list[list[Candidate]] = []
    labels: list[list[bool]] = []
    docs = list(_documents(require("quotes/polnear") / split))
    texts = [text for _, text, _ in docs]
    found = find_entities(nlp, [("", t) for t in texts], settings.entities.labels, 8)
    for (_, text, rows), entities in zip(docs, found, strict=True):
        gold = [(g, _word_starts(text, [tuple(s) for s in g["spans"]])) for g in _gold(rows)]
        quotes = find_quotes(text)
        said = unattributed(text, quotes)
        resolver = Resolver(text, entities, [(q.start, q.end) for q in said])
        attribute(nlp, text, said, resolver)
        for quote, cands in zip(said, candidates(text, said, resolver), strict=True):
            words = _word_starts(text, [(quote.start, quote.end)])
            match = max(gold, key=lambda g: len(g[1] & words), default=None)
            if not cands or match is None or len(match[1] & words) < 0.6 * len(match[1]):
                continue
            speaker = match[0]["speaker"]
            options.append(cands)
            labels.append(
                [bool(_names(c.entity.name if c.entity else c.written) & speaker) for c in cands]
            )
    return options, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = parser.parse_args()
    options, labels = examples("train")
    x = [[c.features[name] for name in FEATURES] for cands in options for c in cands]
    y = [label for row in labels for label in row]
    model = LogisticRegression(C=args.c, fit_intercept=False, max_iter=2000).fit(x, y)
    weights = {name: round(float(w), 5) for name, w in zip(FEATURES, model.coef_[0], strict=True)}
    right = sum(
        row[max(range(len(cands)), key=lambda i: score(cands[i], weights))]
        for cands, row in zip(options, labels, strict=True)
    )
    reachable = sum(any(row) for row in labels)
    note = (
        f"Fitted {date.today().isoformat()} by `python -m bench.train_speakers --c {args.c}` on "
        f"PolNeAR train: {len(options)} matched quotes, {len(x)} candidates, model "
        f"{load_settings().entities.model_for('en')}. Right speaker ranked first on train: "
        f"{right} of {len(options)} ({right / len(options):.3f}); some candidate right: "
        f"{reachable}. Refit after changing the features, the rules or the model."
    )
    WEIGHTS.write_text(json.dumps({"note": note, "weights": weights}, indent=1) + "\n")
    print(note)
    print(json.dumps(weights, indent=1))


if __name__ == "__main__":
    main()
