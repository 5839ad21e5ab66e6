"""Entity precision/recall/F1 on ../shared/corpus/ner/gum_news and the seed, and NER words/s.

Run: `.venv/bin/python -m bench.entities`. Scored at document level: gold entities are GUM's
named mentions (those with a Wikipedia identity) of type person, organization or place; an
entity counts once per document. A predicted name matches a gold identity when its words are a
contiguous part of the identity's words and both are, or both are not, a person. The bare
small model is scored the same way beside newslake, each distinct surface form being one
prediction (that is what a bare run gives). Speed is words per second over the same texts,
newslake's entity step against a bare `nlp.pipe` of the full small pipeline, in one run.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

import spacy

from bench.corpus import record, require, seed_article
from tasks.entities import find_entities, load_pipeline
from tasks.settings import load_settings

GOLD_TYPES = {"person", "organization", "place"}
Named = tuple[tuple[str, ...], bool]  # (words, is_person)


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.casefold()))


def _split_id(entry: str) -> tuple[str, str]:
    match = re.fullmatch(r"(.*?)(?:\[(\d+)\])?", entry)
    assert match is not None
    return match[1], match[2] or ""


def read_gum(path: Path) -> tuple[str, set[Named]]:
    """A GUM document's text (rebuilt from token offsets) and its named gold entities."""
    chars: list[str] = []
    gold: set[Named] = set()
    for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) < 6 or "-" not in cols[1]:
            continue
        start, end = (int(x) for x in cols[1].split("-"))
        if len(chars) < end:
            chars.extend(" " * (end - len(chars)))
        chars[start:end] = cols[2]
        # "event[6]|abstract[7]" pairs with "FIRST_Robotics_Competition[6]" by the bracketed id;
        # single-token entities carry no id and pair in order.
        types = [_split_id(t) for t in cols[3].split("|")] if cols[3] != "_" else []
        names = [_split_id(n) for n in cols[6].split("|")] if cols[6] != "_" else []
        by_id = {i: n for n, i in names if i}
        plain = iter(n for n, i in names if not i)
        for kind, ident in types:
            name = by_id.get(ident) if ident else next(plain, None)
            if kind in GOLD_TYPES and name and name != "_":
                gold.add((_words(unquote(name).replace("_", " ")), kind == "person"))
    return "".join(chars), gold


def _matches(predicted: Named, gold: Named) -> bool:
    words, person = predicted
    target, gold_person = gold
    if person != gold_person or not words:
        return False
    n = len(words)
    return any(target[i : i + n] == words for i in range(len(target) - n + 1))


def score(docs: Iterable[tuple[set[Named], set[Named]]]) -> tuple[float, float, float]:
    """Micro-averaged document-level precision, recall and F1."""
    tp_pred = n_pred = tp_gold = n_gold = 0
    for predicted, gold in docs:
        n_pred += len(predicted)
        n_gold += len(gold)
        tp_pred += sum(any(_matches(p, g) for g in gold) for p in predicted)
        tp_gold += sum(any(_matches(p, g) for p in predicted) for g in gold)
    precision = tp_pred / n_pred if n_pred else 0.0
    recall = tp_gold / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    settings = load_settings()
    labels = set(settings.entities.labels)
    model = settings.entities.model_for("en") or ""
    gum = [read_gum(p) for p in sorted(require("ner/gum_news/tsv").glob("*.tsv.gz"))]
    seed = require("seed")
    seed_gold_json = json.loads((seed / "kharkiv-offensive.entities.json").read_text())
    article = seed_article()
    seed_gold = {
        (_words(name), label == "PERSON")
        for label, names in seed_gold_json["entities"].items()
        for name in names
    }
    sets = {"GUM news": gum, "seed article": [(article.text, seed_gold)]}
    texts = [t for t, _ in gum] + [article.text]
    words = sum(len(_words(t)) for t in texts)

    bare = spacy.load(model)
    ours = load_pipeline(model)
    started = time.perf_counter()
    bare_docs = list(bare.pipe(texts, batch_size=settings.entities.batch_size))
    bare_s = time.perf_counter() - started
    started = time.perf_counter()
    found = find_entities(ours, [("", t) for t in texts], labels, settings.entities.batch_size)
    ours_s = time.perf_counter() - started

    def bare_names(doc: spacy.tokens.Doc) -> set[Named]:
        return {(_words(e.text), e.label_ == "PERSON") for e in doc.ents if e.label_ in labels}

    def our_names(entities: list) -> set[Named]:  # type: ignore[type-arg]
        return {(_words(e.name), e.label == "PERSON") for e in entities}

    lines = [
        f"`python -m bench.entities` — model `{model}`; {len(gum)} GUM news documents and the "
        "seed article; document-level named-entity scoring (see the module docstring).",
        "",
        "| texts | system | precision | recall | F1 |",
        "|---|---|---|---|---|",
    ]
    offset = 0
    for name, docs in sets.items():
        count = len(docs)
        golds = [g for _, g in docs]
        for system, predicted in (
            ("bare en_core_web_sm", [bare_names(d) for d in bare_docs[offset : offset + count]]),
            ("newslake", [our_names(e) for e in found[offset : offset + count]]),
        ):
            p, r, f = score(zip(predicted, golds, strict=True))
            lines.append(f"| {name} | {system} | {p:.3f} | {r:.3f} | {f:.3f} |")
        offset += count
    lines += [
        "",
        f"Speed over the same {words:,} words: bare `nlp.pipe` (full pipeline) "
        f"{words / bare_s:,.0f} words/s; newslake's entity step (NER only, plus resolution) "
        f"{words / ours_s:,.0f} words/s = {bare_s / ours_s:.2f}x.",
    ]
    print("\n".join(lines))
    record("Entities (corpus/ner/gum_news, seed)", "\n".join(lines))


if __name__ == "__main__":
    main()
