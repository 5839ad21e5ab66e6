"""Quote finding and speaker attribution on ../shared/corpus/quotes/polnear and the seed.

Run: `.venv/bin/python -m bench.quotes`. One annotator per document (the first by name).
Gold quotes are the direct ones (content in quotation marks). A gold quote is found when a
predicted quote covers at least 60% of its words; a predicted quote is correct when at least
60% of its words lie in some annotated attribution content, quoted or not; the speaker is right
when the resolved speaker shares a capitalised name word with the gold source (a gold source
that is a pronoun is replaced by the nearest named source before it). A bare regular expression
over quotation marks is scored the same way beside newslake.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from bench.corpus import record, require, seed_article
from tasks.entities import find_entities, load_pipeline
from tasks.quotes import quote_rows
from tasks.settings import load_settings

_BARE = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "his", "her", "their"}


def _word_starts(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Offsets of the words inside the spans: words, not characters, are what is scored."""
    return {s + m.start() for s, e in spans for m in re.finditer(r"\w+", text[s:e])}


def _names(text: str | None) -> set[str]:
    return {w for w in re.findall(r"[A-Z][\w'’.-]+", text or "") if w.lower() not in _PRONOUNS}


def _gold(doc_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The direct quotes, each with the name words of its source (or of the nearest named
    source before it, when its own is a pronoun)."""
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
        if row["content"] and row["content_in_quotation_marks"]:
            direct.append({"spans": row["content"]["spans"], "speaker": names or last_named})
    return direct


def _score(
    text: str, gold: list[dict[str, Any]], content_words: set[int], predicted: list[dict[str, Any]]
) -> dict[str, int]:
    pred_words = [_word_starts(text, [(p["start_char"], p["end_char"])]) for p in predicted]
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


def main() -> None:
    root = require("quotes/polnear")
    settings = load_settings()
    nlp = load_pipeline(settings.entities.model_for("en") or "")
    rows_by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in (root / "attributions.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows_by_doc[row["doc_id"]].append(row)
    totals: dict[str, dict[str, int]] = {}
    for doc_id, rows in sorted(rows_by_doc.items()):
        annotator = min(r["annotator"] for r in rows)
        rows = [r for r in rows if r["annotator"] == annotator]
        text = (root / "text" / f"{doc_id}.txt").read_text()
        gold = _gold(rows)
        content = {
            s + m.start()
            for r in rows
            if r["content"]
            for s, e in r["content"]["spans"]
            for m in re.finditer(r"\w+", text[s:e])
        }
        (entities,) = find_entities(nlp, [("", text)], settings.entities.labels, 8)
        ours = quote_rows(doc_id, text, entities, attribute_speakers=True)
        for name, predicted in (("bare regex", _bare(text)), ("newslake", ours)):
            counts = _score(text, gold, content, predicted)
            bucket = totals.setdefault(name, defaultdict(int))
            for key, value in counts.items():
                bucket[key] += value
    seed = require("seed")
    seed_gold = json.loads((seed / "kharkiv-offensive.quotes.json").read_text())["quotes"]
    article = seed_article()
    (entities,) = find_entities(
        nlp, [(article.title or "", article.text)], settings.entities.labels, 8
    )
    seed_rows = quote_rows(article.article_id, article.text, entities, attribute_speakers=True)
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
    lines = [
        f"`python -m bench.quotes` — {len(rows_by_doc)} PolNeAR documents (direct quotes; scoring "
        "in the module docstring) and the seed article.",
        "",
        "| system | gold quotes | found (recall) | predicted | correct (precision) "
        "| speaker right (of found) |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in totals.items():
        lines.append(
            f"| {name} | {t['gold']} | {t['found']} ({t['found'] / t['gold']:.2f}) | {t['pred']} | "
            f"{t['correct']} ({t['correct'] / max(t['pred'], 1):.2f}) | "
            f"{t['speaker']} ({t['speaker'] / max(t['found'], 1):.2f}) |"
        )
    lines += [
        "",
        f"Seed article: {seed_found} of {len(seed_gold)} quotes found, {seed_right} of "
        f"{len(seed_gold)} attributed to the right speaker.",
    ]
    print("\n".join(lines))
    record("Quotes (corpus/quotes/polnear, seed)", "\n".join(lines))


if __name__ == "__main__":
    main()
