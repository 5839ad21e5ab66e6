"""Stories: pairwise precision and recall on syndicated copies, and what the step costs.

Run: `.venv/bin/python -m bench.stories`. From the gold bodies of ../shared/corpus/extraction
(development pages and the third held out by id, `bench/splits.py`, side by side) it builds what
syndication looks like: each article on its own site, an exact copy on another domain, a copy
with a wire dateline, one with the last paragraph dropped and a credit line added, and one with
3% of its words changed; plus distinct articles that each end with two copies of one long
newsletter paragraph, which must stay apart. The originals and distractors go in one run, the
copies in a second, through the real commit-time path (`assign_stories` over a local lake).

Costs, measured in the same process: MinHash signatures per article with datasketch and with
rensa; the stories step per article (signature plus assignment) against the full per-page work
(`process_page` on corpus pages); and assigning one new article against a lake holding 1,000,000
synthetic signatures (time and the peak memory of a process that does only that).
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from datasketch import MinHash

from bench.corpus import record, require
from bench.splits import DEVELOPMENT, HELD_OUT, Split, split_of
from newslake.tasks.lake.commit import commit_table, write_part
from newslake.tasks.lake.index import LakeIndex
from newslake.tasks.lake.staging import Staging, stage_frame
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.stories import BANDS, SHINGLE, assign_stories, signature_rows
from newslake.tasks.lake.tables import ARTICLES, PARTITION, STORIES, conform
from newslake.tasks.pages.batch import process_batch
from newslake.tasks.records import RawPage
from newslake.tasks.settings import StoryOptions, load_settings

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MIN_WORDS = 120
NEWSLETTER = (
    "Get the latest headlines delivered to your inbox every morning with our free daily "
    "newsletter. Sign up now to receive breaking news alerts, in-depth analysis from our "
    "reporters, exclusive interviews, weekend reading recommendations and special offers from "
    "our partners. You can unsubscribe at any time by clicking the link at the bottom of any "
    "email, and we will never share your address with third parties without your consent."
)
CREDIT = "The Associated Press contributed to this report."


def _variants(body: str, rng: random.Random, vocabulary: list[str]) -> list[str]:
    """The syndicated copies of one article (the original is not among them)."""
    paragraphs = [p for p in body.split("\n") if p.strip()]
    words = body.split(" ")
    for at in rng.sample(range(len(words)), max(1, len(words) * 3 // 100)):
        words[at] = rng.choice(vocabulary)
    return [
        body,
        "LONDON (Reuters) — " + body,
        "\n".join([*paragraphs[:-1], CREDIT]),
        " ".join(words),
    ]


def _collection(bodies: list[str], seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Two runs' article rows (originals and distractors; copies) and each article's gold story."""
    rng = random.Random(seed)
    vocabulary = sorted({w for b in bodies for w in re.findall(r"\w+", b)})
    stories, distractors = bodies[: len(bodies) * 2 // 3], bodies[len(bodies) * 2 // 3 :]
    first: list[dict[str, object]] = []
    second: list[dict[str, object]] = []
    gold: dict[str, str] = {}
    start = datetime(2024, 5, 1, tzinfo=UTC)

    def row(text: str, story: str, n: int) -> dict[str, object]:
        article_id = f"{story}-{n}"
        gold[article_id] = story
        at = start + timedelta(hours=n)
        return {"article_id": article_id, "capture_id": f"c-{article_id}", "text": text,
                "published_at": at, "fetched_at": at, PARTITION: at.date()}  # fmt: skip

    for i, body in enumerate(stories):
        first.append(row(body, f"s{i}", 0))
        second.extend(row(v, f"s{i}", n) for n, v in enumerate(_variants(body, rng, vocabulary), 1))
    for i, body in enumerate(distractors):
        first.append(row("\n".join([body, NEWSLETTER, NEWSLETTER]), f"d{i}", 0))
    return pl.DataFrame(first), pl.DataFrame(second), gold


def _stage_run(lake: Lake, run_id: str, rows: pl.DataFrame, threshold: float) -> float:
    """Stage a run's article and signature rows, assign stories and commit them; seconds spent
    in assignment and commit."""
    articles = conform(rows, ARTICLES).with_columns(rows[PARTITION])
    stage_frame(lake, run_id, "articles", 0, articles)
    stage_frame(lake, run_id, "stories", 0, signature_rows(rows))
    started = time.perf_counter()
    staging, index = Staging(lake, run_id), LakeIndex(lake)
    assign_stories(staging, index, threshold, load_settings().stories.window_days)
    commit_table.fn(lake, run_id, "stories", index=index, staging=staging)
    index.save()
    return time.perf_counter() - started


def _pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = {}
    for article, group in groups.items():
        members.setdefault(group, []).append(article)
    return {pair for group in members.values() for pair in itertools.combinations(sorted(group), 2)}


def _score(bodies: list[str], threshold: float) -> tuple[float, float, int, float]:
    """Pairwise precision and recall, the article count, and assignment seconds per article."""
    first, second, gold = _collection(bodies, seed=7)
    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.of(folder)
        seconds = _stage_run(lake, "run-1", first, threshold)
        seconds += _stage_run(lake, "run-2", second, threshold)
        found = pl.read_parquet(Path(folder) / "stories" / "**" / "*.parquet")
    predicted = dict(zip(found["article_id"], found["story_id"], strict=True))
    ours, theirs = _pairs(predicted), _pairs(gold)
    precision = len(ours & theirs) / len(ours) if ours else 1.0
    recall = len(ours & theirs) / len(theirs) if theirs else 1.0
    return precision, recall, len(gold), seconds / len(gold)


def _bodies() -> tuple[dict[Split, list[str]], list[str]]:
    """Gold bodies of at least MIN_WORDS words by split, and every page's HTML (for timing)."""
    root = require("extraction")
    gold = json.loads((root / "ground-truth.json").read_text())
    bodies: dict[Split, list[str]] = {DEVELOPMENT: [], HELD_OUT: []}
    pages = []
    for key in sorted(gold):
        body = gold[key]["articleBody"] or ""
        if len(body.split()) >= MIN_WORDS and body.count("\n") >= 2:
            bodies[split_of(key)].append(body)
        pages.append(root / "html" / f"{key}.html.gz")
    return bodies, [gzip.decompress(p.read_bytes()).decode("utf-8") for p in pages[:60]]


def _signature_costs(texts: list[str]) -> tuple[float, float | None]:
    """Milliseconds per article for a 128-permutation MinHash of word 5-shingles."""
    shingled = []
    for text in texts:
        words = re.findall(r"\w+", text.casefold())
        shingled.append([" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE)])
    started = time.perf_counter()
    for shingles in shingled:
        minhash = MinHash(num_perm=128, seed=1)
        minhash.update_batch([s.encode() for s in set(shingles)])
    ours = (time.perf_counter() - started) * 1000 / len(texts)
    try:
        import rensa  # a dev dependency, for this comparison only
    except ImportError:
        return ours, None
    started = time.perf_counter()
    for shingles in shingled:
        rensa.RMinHash(num_perm=128, seed=1).update(list(set(shingles)))
    return ours, (time.perf_counter() - started) * 1000 / len(texts)


def _batch_costs(html: list[str]) -> tuple[float, float]:
    """Milliseconds per page of the worker's batch with the stories step off and on."""
    pages = [RawPage(source=f"p{i}", url=None, body=h.encode()) for i, h in enumerate(html)]
    base = load_settings()
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        process_batch.fn(pages[:2], [], settings=replace(base, lake=folder), run_id="warm", batch=0)
        for round_ in range(3):
            for enabled in (False, True):
                settings = replace(base, lake=folder, stories=StoryOptions(enabled=enabled))
                started = time.perf_counter()
                process_batch.fn(pages, [], settings=settings, run_id=f"r{round_}", batch=0)
                times[enabled].append((time.perf_counter() - started) * 1000 / len(pages))
    return statistics.median(times[False]), statistics.median(times[True])


def _million(folder: str, rows: int, per_partition: int) -> None:
    """Write `rows` synthetic stories rows (random signatures and band keys), spread over days."""
    lake = Lake.of(folder)
    rng = np.random.default_rng(0)
    schema = pl.Schema({**STORIES})
    parts = rows // per_partition
    for part in range(parts):
        # Days on both sides of the new article's (2024-05-01): the story window reads its own.
        day = date(2024, 5, 1) + timedelta(days=part - parts // 2)
        n = per_partition
        ids = [f"a{part:05d}-{i:06d}" for i in range(n)]
        frame = pl.DataFrame(
            {
                "article_id": ids,
                "story_id": ids,
                "similarity": np.ones(n),
                "first_article_id": ids,
                "first_at": [datetime(2020, 1, 1, tzinfo=UTC)] * n,
                "published_at": [datetime(2020, 1, 1, tzinfo=UTC)] * n,
                "capture_id": ids,
                "signature": rng.integers(0, 2**32, (n, 128), dtype=np.uint32),
                "bands": rng.integers(0, 2**62, (n, BANDS), dtype=np.int64),
            }
        ).cast(schema)
        write_part(lake, "stories", day, "part.parquet", frame)


def _assign_one(folder: str) -> None:
    """Child process: assign one new article (and a copy of it) against the lake; print seconds
    and peak RSS before and during."""
    lake = Lake.of(folder)
    text = " ".join(f"word{i % 997} token{i % 101}" for i in range(600))
    at = datetime(2024, 5, 1, tzinfo=UTC)
    rows = pl.DataFrame(
        {"article_id": ["new"], "capture_id": ["c-new"], "text": [text],
         "published_at": [at], "fetched_at": [at], PARTITION: [at.date()]}
    )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = _stage_run(lake, "one", rows, 0.5)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_before_mb": before / 1024, "rss_mb": after / 1024}))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--assign-one":
        _assign_one(sys.argv[2])
        return
    threshold = load_settings().stories.threshold
    bodies, html = _bodies()
    lines = [
        "`python -m bench.stories` — syndicated copies built from corpus/extraction gold bodies "
        f"of at least {MIN_WORDS} words: each story's original plus 4 copies (exact, wire "
        "dateline, last paragraph dropped + credit line, 3% of words changed) in a later run; a "
        "third of the bodies are instead distractors that share two copies of one long "
        "newsletter paragraph. Pairwise precision / recall of the story ids.",
        "",
        "| threshold | development P / R | held out P / R |",
        "|---|---|---|",
    ]
    assign_ms = []
    for value in THRESHOLDS:
        cells = []
        for split in (DEVELOPMENT, HELD_OUT):
            precision, recall, count, seconds = _score(bodies[split], value)
            cells.append(f"{precision:.4f} / {recall:.4f} ({count} articles)")
            if value == threshold:
                assign_ms.append(seconds * 1000)
        mark = " (configured)" if value == threshold else ""
        lines.append(f"| {value}{mark} | {' | '.join(cells)} |")

    texts = bodies[DEVELOPMENT] + bodies[HELD_OUT]
    datasketch_ms, rensa_ms = _signature_costs(texts)
    off_ms, on_ms = _batch_costs(html)
    step_ms = on_ms - off_ms + statistics.mean(assign_ms)
    lines += [
        "",
        f"MinHash signature per article: datasketch {datasketch_ms:.2f} ms"
        + (f", rensa {rensa_ms:.2f} ms" if rensa_ms is not None else " (rensa not installed)"),
        f"The worker's batch (decode, extract, entities, quotes, staging) over {len(html)} corpus "
        f"pages, stories off and on alternately (3 rounds, medians): {off_ms:.0f} vs "
        f"{on_ms:.0f} ms per page; with the assignment at commit ({statistics.mean(assign_ms):.1f}"
        f" ms per article) the stories step adds {step_ms:.1f} ms, {step_ms / off_ms:.1%} of the "
        "per-page time.",
    ]

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        _million(folder, 1_000_000, 10_000)
        written = time.perf_counter() - started
        child = subprocess.run(
            [sys.executable, "-m", "bench.stories", "--assign-one", folder],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        one = json.loads(child.stdout.strip().splitlines()[-1])
        size = sum(f.stat().st_size for f in Path(folder).rglob("*.parquet")) / 2**20
    lines.append(
        f"One new article against 1,000,000 synthetic signatures (100 daily partitions, "
        f"{size:.0f} MB of Parquet, written in {written:.0f} s): assigned and committed in "
        f"{one['seconds']:.1f} s; the process's peak RSS {one['rss_mb']:.0f} MB "
        f"({one['rss_before_mb']:.0f} MB before the step)."
    )
    print("\n".join(lines))
    record("Stories (syndicated copies from corpus/extraction)", "\n".join(lines))


if __name__ == "__main__":
    main()
