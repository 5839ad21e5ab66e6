"""Why direct quotes are missed and speakers cannot be right: PolNeAR train, by kind.

Run: `.venv/bin/python -m bench.quote_misses [--split train]`. Scored as `bench.quotes` does;
the development split (train) is the default, where rules may be written. Two tables:

- the gold direct quotes newslake does not find, by kind: a quotation split by its attribution
  (several spans), one running over a paragraph break, one whose opening mark newslake does not
  know (or has none), one found only in part (some words, under the 60% that counts), other;
- for the quotes it finds, whether the gold speaker is among the people and organisations the
  speaker ranker can choose from (mentioned from `LOOKBACK` characters before the quote to 250
  after it, `tasks/text/ranker.py`), and when not, why: mentioned only further away, typed a
  place, or never recognised as an entity at all.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from typing import Any

from bench.corpus import require
from bench.quotes import _documents, _gold, _groups, _names, _word_starts
from newslake.tasks.settings import load_settings
from newslake.tasks.text.discourse import LOOKBACK
from newslake.tasks.text.entities import find_entities
from newslake.tasks.text.models import load_pipeline
from newslake.tasks.text.quotes import quote_rows

_KNOWN_OPENERS = set("“\"«»„‚‘'")
_AFTER = 250
# Quotes this short with no speaker the rules found are left out (tasks/text/quotes.py).
_SHORT = 4


def _miss_kind(text: str, spans: list[list[int]], overlap: float) -> str:
    """Why a gold quote (its spans include its quotation marks) may have been missed."""
    if len(spans) > 1:
        return "split by its attribution"
    start, end = spans[0]
    quote = text[start:end].strip()
    if "\n" in quote:
        return "over a paragraph break"
    if quote[:1] not in _KNOWN_OPENERS and text[:start].rstrip()[-1:] not in _KNOWN_OPENERS:
        return f"opening mark not known ({quote[:1]!r})"
    if len(re.findall(r"\w+", quote)) <= _SHORT:
        return f"short (at most {_SHORT} words): taken for a scare quote"
    if text[:start].rstrip()[-1:] == ":":
        return "introduced by a colon (a block quote, a headline, a post)"
    if overlap > 0:
        return "found in part (under 60% of its words)"
    return "other"


def _speaker_kind(entities: list[Any], gold: set[str], start: int, end: int) -> str:
    """Whether a gold speaker (its name words) is a candidate of the ranker, and if not, why."""
    near, far, places = False, False, False
    for entity in entities:
        if not _names(entity.name) & gold:
            continue
        for m in entity.mentions:
            inside = start - LOOKBACK <= m.start <= end + _AFTER and not start <= m.start < end
            if entity.coarse == "place":
                places = True
            elif inside:
                near = True
            else:
                far = True
    if near:
        return "a candidate"
    if far:
        return "mentioned only further away"
    return "typed a place" if places else "not an entity (NER missed it, or a title/pronoun)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train", choices=["train", "dev"])
    args = parser.parse_args()
    settings = load_settings()
    nlp = load_pipeline(settings.entities.model_for("en") or "")
    misses: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    total = 0
    for doc_id, text, rows in _documents(require("quotes/polnear") / args.split):
        gold = _gold(rows)
        (entities,) = find_entities(nlp, [("", text)], settings.entities.labels, 8)
        predicted = _groups(quote_rows(doc_id, text, entities, nlp=nlp))
        words = [_word_starts(text, p["spans"]) for p in predicted]
        for g in gold:
            g_words = _word_starts(text, [tuple(s) for s in g["spans"]])
            if not g_words:
                continue
            total += 1
            best = max((len(g_words & w) / len(g_words) for w in words), default=0.0)
            if best < 0.6:
                misses[_miss_kind(text, g["spans"], best)] += 1
            elif g["speaker"] and g["speaker"] != {"(nobody named)"}:
                start, end = g["spans"][0][0], g["spans"][-1][1]
                speakers[_speaker_kind(entities, g["speaker"], start, end)] += 1
    print(f"`python -m bench.quote_misses --split {args.split}` — {total} gold direct quotes\n")
    print("| missed quote, by kind | quotes | share of gold |\n|---|---|---|")
    for kind, n in misses.most_common():
        print(f"| {kind} | {n} | {n / total:.3f} |")
    named = sum(speakers.values())
    print("\n| found quote with a named speaker: the gold speaker is | quotes | share |")
    print("|---|---|---|")
    for kind, n in speakers.most_common():
        print(f"| {kind} | {n} | {n / named:.3f} |")


if __name__ == "__main__":
    main()
