"""Title, author and date hit rates on ../shared/corpus/news_metadata: newslake vs trafilatura.

Run: `.venv/bin/python -m bench.metadata [--split development]`. A title hits when it equals
the gold title with whitespace, case, typographic quotes („“”«» as ", ‘’‹› as ') and invisible
characters (soft hyphens, zero-width spaces) folded;
authors hit when every gold author's surname appears among the extracted authors; the date hits
when the UTC day of publication agrees. Development pages and the third set aside by id
(`bench/splits.py`) are reported side by side, and apart the held-out pages of publishers that
have no page in development (rules cannot have been written against them). `--split
development` prints the development figures only: rules are changed against those, and the
held-out columns read once a change is made (bench/RESULTS.md counts the reads).

A second table scores the day of publication on the ~850 pages of corpus/pages whose
expectations give one (an empty date there means the page has none, and finding one is a miss),
split by file name.
"""

from __future__ import annotations

import gzip
import json
import sys
import unicodedata
from datetime import UTC, datetime

import trafilatura

from bench.corpus import corpus_pages, newslake_article, record, require
from bench.splits import DEVELOPMENT, HELD_OUT, split_of
from newslake.tasks.text.dates import parse_timestamp

_GOLD_FIELD = {"title": "title", "authors": "authors", "date": "publishing_date"}


_QUOTES = str.maketrans(dict.fromkeys("„“”«»‟＂", '"') | dict.fromkeys("‘’‚‹›‛", "'"))
# Held-out pages whose publisher ("de_WAZ" of "de_WAZ_2025_09_10") has no development page.
UNSEEN = "held out, unseen publishers"


def _fold(text: str | None) -> str:
    """Spacing, case, typographic quotes and invisible characters (soft hyphens, zero-width
    spaces) folded."""
    visible = "".join(c for c in (text or "") if unicodedata.category(c) != "Cf")
    return " ".join(visible.translate(_QUOTES).split()).casefold()


def _publisher(key: str) -> str:
    return key.rsplit("_", 3)[0]


def _authors_hit(predicted: list[str], gold: list[str]) -> bool:
    found = _fold(" ".join(predicted))
    return all(_fold(name).split()[-1] in found for name in gold if name.split())


def _day(value: str | datetime | None) -> str | None:
    if isinstance(value, str):
        value = parse_timestamp(value) if "T" in value or " " in value else value
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    return value


def main() -> None:
    root = require("news_metadata")
    gold = json.loads((root / "ground-truth.json").read_text())
    systems = ("trafilatura", "newslake")
    only_development = "--split" in sys.argv and "development" in sys.argv
    splits: tuple[str, ...] = (
        (DEVELOPMENT,) if only_development else (DEVELOPMENT, HELD_OUT, UNSEEN)
    )
    hits = {(n, s): {"title": 0, "authors": 0, "date": 0} for n in systems for s in splits}
    sizes = dict.fromkeys(splits, 0)
    misses: list[str] = []
    seen = {_publisher(k) for k in gold if split_of(k) == DEVELOPMENT}
    for key, item in gold.items():
        split = split_of(key)
        if split not in splits:
            continue
        in_splits = [split] + (
            [UNSEEN] if split == HELD_OUT and _publisher(key) not in seen else []
        )
        for name in in_splits:
            sizes[name] += 1
        expected = item["expected"]
        html = gzip.decompress((root / item["html_file"]).read_bytes()).decode("utf-8", "replace")
        doc = trafilatura.bare_extraction(html, url=item["url"], with_metadata=True)
        art = newslake_article(key, item["url"], html)
        ours = (art.title, list(art.authors), art.published_at) if art else (None, [], None)
        theirs = (doc.title, (doc.author or "").split(";"), doc.date) if doc else (None, [], None)
        for name, (title, authors, date) in (("trafilatura", theirs), ("newslake", ours)):
            got = {
                "title": _fold(title) == _fold(expected.get("title")),
                "authors": _authors_hit(authors, expected.get("authors") or []),
                "date": _day(date) == _day(expected.get("publishing_date")),
            }
            values = {"title": title, "authors": authors, "date": date}
            for field, ok in got.items():
                for counted in in_splits:
                    hits[name, counted][field] += ok
                # Only development pages are printed: the held-out third stays unread.
                if name == "newslake" and not ok and "-v" in sys.argv and split == DEVELOPMENT:
                    gold_value = expected.get(_GOLD_FIELD[field])
                    misses.append(f"{key} {field}: {values[field]!r} vs gold {gold_value!r}")
    lines = [
        f"`python -m bench.metadata` — {len(gold)} pages of corpus/news_metadata "
        f"({sizes[DEVELOPMENT]} development, {sizes.get(HELD_OUT, 0)} held out by id, "
        f"{sizes.get(UNSEEN, 0)} of them of publishers with no development page).",
        "",
        "| extractor | split | title exact | every author's surname | UTC day of publication |",
        "|---|---|---|---|---|",
    ]
    for (name, split), row in hits.items():
        n = sizes[split]
        rates = " | ".join(f"{row[field] / n:.3f}" for field in ("title", "authors", "date"))
        lines.append(f"| {name} | {split} | {rates} |")
    print("\n".join(misses))
    print("\n".join(lines))
    if not only_development:
        record("Metadata hit rates (corpus/news_metadata)", "\n".join(lines))
        page_dates()


def page_dates() -> None:
    """Day of publication on corpus/pages, where no date is expected on some pages."""
    hits = {(n, s): [0, 0] for n in ("trafilatura", "newslake") for s in (DEVELOPMENT, HELD_OUT)}
    for url, item, html, split in corpus_pages(lambda i: "date" in i):
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
        art = newslake_article(item["file"], url, html)
        ours = _day(art.published_at) if art else None
        for name, day in (("trafilatura", _day(doc.date) if doc else None), ("newslake", ours)):
            hits[name, split][0] += (day or "") == item["date"]
            hits[name, split][1] += 1
    lines = [
        "`python -m bench.metadata` — corpus/pages with an expected date (empty: none), split "
        "by file name: UTC day of publication right.",
        "",
        "| extractor | split | pages | day right |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {s} | {t} | {h / t:.3f} |" for (n, s), (h, t) in hits.items()]
    print("\n".join(lines))
    record("Day of publication (corpus/pages)", "\n".join(lines))


if __name__ == "__main__":
    main()
