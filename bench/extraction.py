"""Token F1 of the main text on ../shared/corpus/extraction: newslake vs trafilatura alone.

Run: `.venv/bin/python -m bench.extraction`. Scores each page's text against its gold body with
bag-of-words F1 over lower-cased \\w+ tokens, as the benchmark's own evaluation does, on the
development pages and on the third set aside by id (`bench/splits.py`), side by side.

A second table scores the ~1,000 multilingual pages of corpus/pages the way trafilatura's own
evaluation does: the share of must-have snippets found in the text and of boilerplate snippets
kept out of it, split by file name, with each extractor's extraction time.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time

import trafilatura

from bench.corpus import corpus_pages, newslake_article, record, require, token_f1
from bench.splits import DEVELOPMENT, HELD_OUT, Split, split_of


def main() -> None:
    root = require("extraction")
    gold = json.loads((root / "ground-truth.json").read_text())
    names = ("trafilatura defaults", "trafilatura precision", "newslake")
    scores: dict[tuple[str, Split], list[float]] = {
        (name, split): [] for name in names for split in (DEVELOPMENT, HELD_OUT)
    }
    # Pages where newslake scores under trafilatura's precision setting, by where its text came
    # from: (pages, F1 lost) per split and path.
    losses: dict[tuple[Split, str], list[float]] = {}
    started = time.perf_counter()
    for key, item in gold.items():
        split = split_of(key)
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        body = item["articleBody"]
        scores["trafilatura defaults", split].append(token_f1(trafilatura.extract(html), body))
        precise = trafilatura.extract(html, favor_precision=True, include_comments=False)
        scores["trafilatura precision", split].append(token_f1(precise, body))
        article = newslake_article(key, item["url"], html)
        ours = token_f1(article.text if article else "", body)
        scores["newslake", split].append(ours)
        reference = scores["trafilatura precision", split][-1]
        if ours < reference - 0.005:
            path = _path(html, article.text if article else "")
            losses.setdefault((split, path), []).append(reference - ours)
    dev, held = len(scores["newslake", DEVELOPMENT]), len(scores["newslake", HELD_OUT])
    lines = [
        f"`make bench` / `python -m bench.extraction` — {len(gold)} pages of corpus/extraction "
        f"({dev} development, {held} held out by id), mean (median) token F1 against the gold "
        "body.",
        "",
        "| extractor | development | held out |",
        "|---|---|---|",
    ]
    for name in names:
        cells = [
            f"{statistics.mean(v):.4f} ({statistics.median(v):.4f})"
            for v in (scores[name, DEVELOPMENT], scores[name, HELD_OUT])
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines.append("")
    lines.append(f"({time.perf_counter() - started:.0f} s for all three)")
    lines += [
        "",
        "Pages where newslake scores under trafilatura precision (by more than 0.005), by where",
        "newslake's text came from: pages, and F1 lost in all (mean over the split's pages).",
        "",
        "| split | text from | pages | F1 lost, summed | of the split's mean |",
        "|---|---|---|---|---|",
    ]
    for (split, path), lost in sorted(losses.items()):
        size = len(scores["newslake", split])
        lines.append(
            f"| {split} | {path} | {len(lost)} | {sum(lost):.3f} | {sum(lost) / size:.4f} |"
        )
    print("\n".join(lines))
    record("Extraction F1 (corpus/extraction)", "\n".join(lines))
    snippets()


def _path(html: str, text: str) -> str:
    """Which of newslake's passes gave `text` (tasks/text/extract.py): trafilatura's fast pass,
    its full pass, or neither (the page's marked article body, or no article at all)."""
    options = {"favor_precision": True, "include_comments": False}
    if not text:
        return "no article"
    if _fold(trafilatura.extract(html, fast=True, **options)) == _fold(text):
        return "fast pass"
    if _fold(trafilatura.extract(html, **options)) == _fold(text):
        return "full pass"
    return "marked body"


def _fold(text: str | None) -> str:
    return " ".join((text or "").split())


def snippets() -> None:
    """Must-have snippets found and boilerplate snippets kept out, on corpus/pages."""
    names = ("trafilatura precision", "newslake")
    # (found, must-have, kept out, boilerplate, seconds) per extractor and split
    tally = {(n, s): [0, 0, 0, 0, 0.0] for n in names for s in (DEVELOPMENT, HELD_OUT)}
    pages = 0
    for url, item, html, split in corpus_pages(lambda i: bool(i.get("with") or i.get("without"))):
        pages += 1
        for name in names:
            started = time.perf_counter()
            if name == "newslake":
                article = newslake_article(item["file"], url, html)
                text = article.text if article else ""
            else:
                text = trafilatura.extract(html, favor_precision=True, include_comments=False)
            row = tally[name, split]
            row[4] += time.perf_counter() - started
            text = _fold(text)
            row[0] += sum(_fold(w) in text for w in item.get("with", []))
            row[1] += len(item.get("with", []))
            row[2] += sum(_fold(w) not in text for w in item.get("without", []))
            row[3] += len(item.get("without", []))
    lines = [
        f"`python -m bench.extraction` — {pages} pages of corpus/pages, split by file "
        "name: must-have snippets found, boilerplate snippets kept out, and seconds spent "
        "(newslake's time includes its metadata).",
        "",
        "| extractor | split | found | kept out | seconds |",
        "|---|---|---|---|---|",
    ]
    for (name, split), (found, wanted, out, unwanted, seconds) in tally.items():
        lines.append(
            f"| {name} | {split} | {found / wanted:.4f} | {out / unwanted:.4f} | {seconds:.1f} |"
        )
    print("\n".join(lines))
    record("Snippets found and kept out (corpus/pages)", "\n".join(lines))


if __name__ == "__main__":
    main()
