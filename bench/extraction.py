"""Token F1 of the main text on ../shared/corpus/extraction: newslake vs trafilatura alone.

Run: `.venv/bin/python -m bench.extraction`. Scores each page's text against its gold body with
bag-of-words F1 over lower-cased \\w+ tokens, as the benchmark's own evaluation does.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time

import trafilatura

from bench.corpus import record, require, token_f1
from tasks.errors import PageError
from tasks.extract import article_from_html
from tasks.records import RawPage
from tasks.settings import load_settings


def main() -> None:
    root = require("extraction")
    gold = json.loads((root / "ground-truth.json").read_text())
    options = load_settings().extract
    scores: dict[str, list[float]] = {
        "trafilatura defaults": [],
        "trafilatura precision": [],
        "newslake": [],
    }
    started = time.perf_counter()
    for key, item in gold.items():
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        body = item["articleBody"]
        scores["trafilatura defaults"].append(token_f1(trafilatura.extract(html), body))
        precise = trafilatura.extract(html, favor_precision=True, include_comments=False)
        scores["trafilatura precision"].append(token_f1(precise, body))
        page = RawPage(source=key, url=item["url"])
        try:
            text = article_from_html(page, html, options=options, timeout_s=0, run_id="bench").text
        except PageError:
            text = ""
        scores["newslake"].append(token_f1(text, body))
    lines = [
        f"`make bench` / `python -m bench.extraction` — {len(gold)} pages of corpus/extraction, "
        "mean token F1 against the gold body.",
        "",
        "| extractor | mean F1 | median F1 |",
        "|---|---|---|",
    ]
    for name, values in scores.items():
        lines.append(
            f"| {name} | {statistics.mean(values):.4f} | {statistics.median(values):.4f} |"
        )
    lines.append("")
    lines.append(f"({time.perf_counter() - started:.0f} s for all three)")
    print("\n".join(lines))
    record("Extraction F1 (corpus/extraction)", "\n".join(lines))


if __name__ == "__main__":
    main()
