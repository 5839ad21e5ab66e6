"""Entity precision/recall/F1 on GUM and CoNLL-2003 (../shared/corpus/ner), and NER words/s.

Run: `.venv/bin/python -m bench.entities`. Each set is scored on its development split and on a
held-out split side by side (see `gum_splits`; CoNLL-2003 train and testa).

GUM is scored at document level: gold entities are GUM's
named mentions (those with a Wikipedia identity) of type person, organization or place; an
entity counts once per document. A predicted name matches a gold identity when its words are a
contiguous part of the identity's words and both are, or both are not, a person. The bare
small model is scored the same way beside newslake, each distinct surface form being one
prediction (that is what a bare run gives); both systems' names pass through the same
normalisation (`named`). CoNLL-2003 is scored by exact PER/ORG/LOC mention spans, spaCy's
GPE/LOC/FAC counting as LOC. Speed is words per second over the GUM texts, newslake's entity
step against a bare NER-only `nlp.pipe`, in one run.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import spacy

from bench.corpus import SMALL_MODEL, record, require
from newslake.tasks.settings import load_settings
from newslake.tasks.text.entities import find_entities
from newslake.tasks.text.models import load_pipeline, model_location

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


# GUM's official dev documents of the other genres (corpus SOURCES.md): the held-out split.
GUM_DEV = set(
    [
        "exposure",
        "librarians",
        "byron",
        "emperor",
        "grounded",
        "risk",
        "loan",
        "negligence",
        "evolved",
        "tools",
        "beast",
        "lunre",
        "cyclone",
        "gaming",
        "arendt",
        "wiki",
        "bangladesh",
        "wrestling",
        "impeachment",
        "inauguration",
        "governments",
        "labor",
        "portland",
        "radiology",
        "athens",
        "coron",
        "joke",
        "overalls",
    ]
)
GUM_TEST = set(
    [
        "discrimination",
        "eegimaa",
        "dvorak",
        "jespersen",
        "lambada",
        "retirement",
        "insanity",
        "mitigation",
        "fear",
        "system",
        "falling",
        "teeth",
        "hill",
        "libertarian",
        "attorney",
        "mandela",
        "bezos",
        "multitasking",
        "austria",
        "newzealand",
        "chemistry",
        "union",
        "london",
        "studying",
        "oakland",
        "vavau",
        "cactus",
        "mice",
    ]
)
_CONLL_TYPES = {"PER": "PER", "ORG": "ORG", "LOC": "LOC"}
_SPACY_TO_CONLL = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}


def gum_splits() -> dict[str, list[Path]]:
    """GUM documents by split: the 8 news documents and the other genres' train documents are
    development; the other genres' official dev documents are held out. GENTLE (a test-only
    challenge set) and GUM's official test documents are not used."""
    news = sorted(require("ner/gum_news/tsv").glob("*.tsv.gz"))
    splits: dict[str, list[Path]] = {"development": list(news), "held out": []}
    for path in sorted(require("ner/gum_other/tsv").glob("GUM_*.tsv.gz")):
        suffix = path.name.removesuffix(".tsv.gz").rsplit("_", 1)[1]
        if suffix in GUM_TEST:
            continue
        splits["held out" if suffix in GUM_DEV else "development"].append(path)
    return splits


def read_conll(path: Path) -> list[tuple[str, set[tuple[int, int, str]]]]:
    """CoNLL-2003 documents: text (a sentence per line, tokens joined by spaces) and the gold
    PER/ORG/LOC mentions as (start, end, type) character spans; MISC is not scored."""
    docs: list[tuple[str, set[tuple[int, int, str]]]] = []
    lines: list[str] = []
    gold: set[tuple[int, int, str]] = set()
    sentence: list[str] = []
    offset = 0
    open_span: tuple[int, int, str] | None = None

    def close() -> None:
        nonlocal open_span
        if open_span is not None and open_span[2] in _CONLL_TYPES:
            gold.add(open_span)
        open_span = None

    def end_sentence() -> None:
        nonlocal sentence, offset
        close()
        if sentence:
            line = " ".join(sentence)
            lines.append(line)
            offset += len(line) + 1
            sentence = []

    def end_doc() -> None:
        nonlocal lines, gold, offset
        end_sentence()
        if lines:
            docs.append(("\n".join(lines), gold))
        lines, gold, offset = [], set(), 0

    for raw in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
        if raw.startswith("-DOCSTART-"):
            end_doc()
            continue
        if not raw.strip():
            end_sentence()
            continue
        token, _, _, tag = raw.split(" ")
        start = offset + sum(len(t) + 1 for t in sentence)
        end = start + len(token)
        sentence.append(token)
        kind = tag[2:] if tag != "O" else ""
        if tag == "O" or tag.startswith("B-") or (open_span and open_span[2] != kind):
            close()
        if kind:
            open_span = (open_span[0], end, kind) if open_span else (start, end, kind)
    end_doc()
    return docs


_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_HONORIFIC = re.compile(r"^(?:mr|mrs|ms|dr|sir)\.?\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")


def named(text: str, person: bool) -> Named:
    """A predicted name as the scorer compares it, the same for every system: without a
    leading article ("the United States"), an honorific ("Mr. Trump") or a possessive
    ("Trump's"). Without this a bare model's "the United States" misses the gold "United States"
    while newslake's cleaned name hits it: a gain in the score that is only a scoring artefact."""
    name = _POSSESSIVE.sub("", _HONORIFIC.sub("", _ARTICLE.sub("", text.strip())))
    return _words(name), person


def mention_f1(
    docs: Iterable[tuple[set[tuple[int, int, str]], set[tuple[int, int, str]]]],
) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of exact (start, end, type) mentions."""
    tp = n_pred = n_gold = 0
    for predicted, gold in docs:
        tp += len(predicted & gold)
        n_pred += len(predicted)
        n_gold += len(gold)
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    settings = load_settings()
    labels = set(settings.entities.labels)
    model = settings.entities.model_for("en") or ""
    ner_only = ["tagger", "parser", "attribute_ruler", "lemmatizer"]
    # Two references: the small model newslake ran on before, and a bare run of the pipeline it
    # runs on now (newslake must never score below the model under it).
    small = spacy.load(SMALL_MODEL, exclude=ner_only)
    bare = spacy.load(model_location(model), exclude=ner_only)
    ours = load_pipeline(model)
    batch = settings.entities.batch_size

    def bare_names(doc: Any) -> set[Named]:
        return {named(e.text, e.label_ == "PERSON") for e in doc.ents if e.label_ in labels}

    def bare_mentions(doc: Any) -> set[tuple[int, int, str]]:
        return {
            (e.start_char, e.end_char, _SPACY_TO_CONLL[e.label_])
            for e in doc.ents
            if e.label_ in _SPACY_TO_CONLL and e.label_ in labels
        }

    def our_names(entities: list[Any]) -> set[Named]:
        return {named(e.name, e.coarse == "person") for e in entities}

    lines = [
        f"`python -m bench.entities` — model `{model}`. GUM: document-level named entities "
        "(person, organisation, place names with a Wikipedia identity; predicted names "
        "normalised the same way for both systems, see `named`). CoNLL-2003: exact PER/ORG/LOC "
        "mentions (MISC not scored). Development = rules may be written against it; held out = "
        "not looked at.",
        "",
        "| texts | split | documents | bare en_core_web_sm P / R / F1 "
        f"| bare {bare.meta['name']} P / R / F1 | newslake P / R / F1 | newslake − sm "
        "| newslake − its bare model |",
        "|---|---|---|---|---|---|---|---|",
    ]
    timing: dict[str, float] = {"bare": 0.0, "newslake": 0.0}
    words = 0
    for split, paths in gum_splits().items():
        docs = [read_gum(p) for p in paths]
        texts = [t for t, _ in docs]
        words += sum(len(_words(t)) for t in texts)
        started = time.perf_counter()
        bare_docs = list(bare.pipe(texts, batch_size=batch))
        timing["bare"] += time.perf_counter() - started
        started = time.perf_counter()
        found = find_entities(ours, [("", t) for t in texts], labels, batch)
        timing["newslake"] += time.perf_counter() - started
        golds = [g for _, g in docs]
        sm = score(
            zip([bare_names(d) for d in small.pipe(texts, batch_size=batch)], golds, strict=True)
        )
        b = score(zip([bare_names(d) for d in bare_docs], golds, strict=True))
        o = score(zip([our_names(e) for e in found], golds, strict=True))
        lines.append(_row("GUM", split, len(docs), sm, b, o))
    conll = require("ner/conll2003")
    for split, name in (("development", "eng.train.gz"), ("held out", "eng.testa.gz")):
        docs_c = read_conll(conll / name)
        texts = [t for t, _ in docs_c]
        small_m = [bare_mentions(d) for d in small.pipe(texts, batch_size=batch)]
        bare_m = [bare_mentions(d) for d in bare.pipe(texts, batch_size=batch)]
        found = find_entities(ours, [("", t) for t in texts], labels, batch)
        ours_m = [
            {(m.start, m.end, _SPACY_TO_CONLL[e.label]) for e in ents for m in e.mentions
             if m.start >= 0 and e.label in _SPACY_TO_CONLL}
            for ents in found
        ]  # fmt: skip
        golds_c = [g for _, g in docs_c]
        sm = mention_f1(zip(small_m, golds_c, strict=True))
        b = mention_f1(zip(bare_m, golds_c, strict=True))
        o = mention_f1(zip(ours_m, golds_c, strict=True))
        lines.append(_row("CoNLL-2003", split, len(docs_c), sm, b, o))
    lines += [
        "",
        f"Speed over the {words:,} GUM words: bare `nlp.pipe` (NER only) "
        f"{words / timing['bare']:,.0f} words/s; newslake's entity step (NER plus resolution) "
        f"{words / timing['newslake']:,.0f} words/s.",
    ]
    print("\n".join(lines))
    record("Entities (corpus/ner: GUM, CoNLL-2003)", "\n".join(lines))


def _row(
    texts: str,
    split: str,
    n: int,
    small: tuple[float, float, float],
    bare: tuple[float, float, float],
    ours: tuple[float, float, float],
) -> str:
    def cell(prf: tuple[float, float, float]) -> str:
        return " / ".join(f"{v:.3f}" for v in prf)

    return (
        f"| {texts} | {split} | {n} | {cell(small)} | {cell(bare)} | {cell(ours)} "
        f"| {ours[2] - small[2]:+.3f} | {ours[2] - bare[2]:+.3f} |"
    )


if __name__ == "__main__":
    main()
