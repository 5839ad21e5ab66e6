"""Quote finding and speaker attribution on ../shared/corpus/quotes/polnear and the seed.

Run: `.venv/bin/python -m bench.quotes [--split train]` (train alone: the development split).
One annotator per document (the first by name).
Gold quotes are the direct ones (content in quotation marks). Predicted rows that share a
`group_id` (a quotation split by its attribution) are one predicted quote, as PolNeAR annotates
such a quotation as one content with several spans. A gold quote is found when a
predicted quote covers at least 60% of its words; a predicted quote is correct when at least
60% of its words lie in some annotated attribution content, quoted or not; the speaker is right
when the resolved speaker shares a capitalised name word with the gold source (a gold source
that is a pronoun or a definite description with no name in it, "the 71-year-old diplomat", is
replaced by the nearest named source before it, as both stand for that person). A bare regular
expression over quotation marks is scored the same way beside newslake.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.corpus import record, require, seed_article
from newslake.tasks.settings import load_settings
from newslake.tasks.text.entities import find_entities
from newslake.tasks.text.models import load_pipeline
from newslake.tasks.text.quotes import quote_rows

_BARE = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "his", "her", "their"}
# Capitalised at a sentence's start, but no name.
_NOT_NAMES = {"the", "a", "an", "this", "that", "these", "those", "another", "one", "other"}


def _word_starts(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Offsets of the words inside the spans: words, not characters, are what is scored."""
    return {s + m.start() for s, e in spans for m in re.finditer(r"\w+", text[s:e])}


def _names(text: str | None) -> set[str]:
    return {
        w
        for w in re.findall(r"[A-Z][\w'’.-]+", text or "")
        if w.lower() not in _PRONOUNS | _NOT_NAMES
    }


def _anaphoric(source: str) -> bool:
    """A pronoun or a definite description: it stands for someone named before."""
    words = source.lower().split()
    return bool(words) and (words[0] == "the" or all(w in _PRONOUNS for w in words))


def _gold(doc_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The direct quotes, each with the name words of its source (or of the nearest named
    source before it, when its own is a pronoun or a definite description)."""
    ordered = sorted(
        doc_rows, key=lambda r: (r["source"] or r["content"] or {"spans": [[0, 0]]})["spans"][0][0]
    )
    last_named: set[str] = set()
    direct = []
    for row in ordered:
        source = row["source"]["text"] if row["source"] else None
        names = _names(source)
        if names:
            last_named = names
        elif source and not _anaphoric(source):
            names = {"(nobody named)"}  # "one user", "officials": nobody the text names
        if row["content"] and row["content_in_quotation_marks"]:
            direct.append({"spans": row["content"]["spans"], "speaker": names or last_named})
    return direct


def _groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sharing a `group_id` (a quotation split by its attribution) as one predicted quote,
    as PolNeAR annotates it: one content whose spans are the parts."""
    groups: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        key = row.get("group_id") or str(i)
        group = groups.setdefault(key, {"spans": [], "speaker_name": row.get("speaker_name")})
        group["spans"].append((row["start_char"], row["end_char"]))
    return list(groups.values())


def _score(
    text: str, gold: list[dict[str, Any]], content_words: set[int], rows: list[dict[str, Any]]
) -> dict[str, int]:
    predicted = _groups(rows)
    pred_words = [_word_starts(text, p["spans"]) for p in predicted]
    counts = {"gold": len(gold), "found": 0, "pred": len(predicted), "correct": 0, "speaker": 0}
    for words in pred_words:
        if words and len(words & content_words) / len(words) >= 0.6:
            counts["correct"] += 1
    for g in gold:
        g_words = _word_starts(text, [tuple(s) for s in g["spans"]])
        if not g_words:
            continue
        best = max(range(len(predicted)), key=lambda i: len(g_words & pred_words[i]), default=None)
        if best is None or len(g_words & pred_words[best]) / len(g_words) < 0.6:
            continue
        counts["found"] += 1
        p = predicted[best]
        if _names(p.get("speaker_name")) & g["speaker"]:
            counts["speaker"] += 1
    return counts


def _bare(text: str) -> list[dict[str, Any]]:
    found = []
    for m in _BARE.finditer(text):
        group = 1 if m.group(1) is not None else 2
        found.append({"start_char": m.start(group), "end_char": m.end(group), "speaker_name": None})
    return found


def _documents(root: Path) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """(doc id, text, attribution rows of one annotator) for each document of a split."""
    rows_by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in (root / "attributions.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows_by_doc[row["doc_id"]].append(row)
    for doc_id, rows in sorted(rows_by_doc.items()):
        annotator = min(r["annotator"] for r in rows)
        text = (root / "text" / f"{doc_id}.txt").read_text()
        yield doc_id, text, [r for r in rows if r["annotator"] == annotator]


def score_split(root: Path, nlp: Any, labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of `_score` summed over a split's documents, for the bare regex and newslake."""
    totals: dict[str, dict[str, int]] = {}
    for doc_id, text, rows in _documents(root):
        gold = _gold(rows)
        content = {
            s + m.start()
            for r in rows
            if r["content"]
            for s, e in r["content"]["spans"]
            for m in re.finditer(r"\w+", text[s:e])
        }
        (entities,) = find_entities(nlp, [("", text)], labels, 8)
        ours = quote_rows(doc_id, text, entities, nlp=nlp)
        for name, predicted in (("bare regex", _bare(text)), ("newslake", ours)):
            counts = _score(text, gold, content, predicted)
            bucket = totals.setdefault(name, defaultdict(int))
            for key, value in counts.items():
                bucket[key] += value
    return totals


def _speed(root: Path, nlp: Any, labels: Sequence[str]) -> str:
    """The cost of attributing speakers (the parser on the sentences holding quotes) against
    finding the quotes alone and against the article's NER, over the same texts, in one run."""
    texts = [text for _, text, _ in _documents(root)]
    started = time.perf_counter()
    found = find_entities(nlp, [("", t) for t in texts], labels, 8)
    ner_s = time.perf_counter() - started
    started = time.perf_counter()
    for text, entities in zip(texts, found, strict=True):
        quote_rows("d", text, entities)
    plain_s = time.perf_counter() - started
    started = time.perf_counter()
    for text, entities in zip(texts, found, strict=True):
        quote_rows("d", text, entities, nlp=nlp)
    attributed_s = time.perf_counter() - started
    return (
        f"Speed over the {len(texts)} dev articles: NER {ner_s:.1f} s; finding quotes "
        f"{plain_s:.1f} s; finding and attributing them (parser on the quotes' sentences) "
        f"{attributed_s:.1f} s, i.e. attribution costs {(attributed_s - plain_s) / ner_s:.0%} "
        "of the NER step."
    )


def main() -> None:
    root = require("quotes/polnear")
    settings = load_settings()
    nlp = load_pipeline(settings.entities.model_for("en") or "")
    labels = settings.entities.labels
    # `--split train` scores the development split only (rules are changed against it).
    names = ("train",) if "--split" in sys.argv and "train" in sys.argv else ("train", "dev")
    splits = {name: score_split(root / name, nlp, labels) for name in names}
    seed = require("seed")
    seed_gold = json.loads((seed / "kharkiv-offensive.quotes.json").read_text())["quotes"]
    article = seed_article()
    (entities,) = find_entities(
        nlp, [(article.title or "", article.text)], settings.entities.labels, 8
    )
    seed_rows = quote_rows(article.article_id, article.text, entities, nlp=nlp)
    seed_found = sum(
        any(g["quote"] in r["quote"] or r["quote"] in g["quote"] for r in seed_rows)
        for g in seed_gold
    )
    seed_right = 0
    for g in seed_gold:
        match = next(
            (r for r in seed_rows if g["quote"] in r["quote"] or r["quote"] in g["quote"]), None
        )
        names = {g["speaker"], *g["aliases"]}
        if match and (
            match["speaker_name"] in names
            or match["speaker"] in names
            or (match["speaker_name"] or "").split()[-1:] == g["speaker"].split()[-1:]
        ):
            seed_right += 1
    docs = {name: sum(1 for _ in _documents(root / name)) for name in splits}
    lines = [
        f"`python -m bench.quotes` — PolNeAR train ({docs['train']} documents, rules are "
        f"written against it) and dev ({docs.get('dev', 0)}, not looked at), direct quotes, one "
        "annotator per document (scoring in the module docstring); and the seed article.",
        "",
        "| split | system | gold quotes | found (recall) | predicted | correct (precision) "
        "| speaker right (of found) |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, totals in splits.items():
        for name, t in totals.items():
            lines.append(
                f"| {split} | {name} | {t['gold']} | {t['found']} ({t['found'] / t['gold']:.3f}) "
                f"| {t['pred']} | {t['correct']} ({t['correct'] / max(t['pred'], 1):.3f}) | "
                f"{t['speaker']} ({t['speaker'] / max(t['found'], 1):.3f}) |"
            )
    if "dev" in splits:
        lines += ["", _speed(root / "dev", nlp, labels)]
    lines += [
        "",
        f"Seed article: {seed_found} of {len(seed_gold)} quotes found, {seed_right} of "
        f"{len(seed_gold)} attributed to the right speaker.",
    ]
    print("\n".join(lines))
    if "dev" in splits:
        record("Quotes (corpus/quotes/polnear, seed)", "\n".join(lines))


if __name__ == "__main__":
    main()
