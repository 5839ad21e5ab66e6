"""Stories: near-duplicate articles — one wire story republished by many sites — share a story.

Each article gets a MinHash signature of its word 5-shingles (datasketch; measured against rensa
in bench/stories.py), computed by the worker that extracts it, and 32 LSH band keys of 4 hashes
each, so articles whose estimated Jaccard similarity reaches about 0.42 share a key. At commit
the run's new articles are compared with the lake's articles that share a key and lie within
`window_days` of them (read from those days' `stories` partitions: the signatures live in the
lake, not in memory, and a run reads the days around its own, not the whole lake) and with
each other; pairs whose estimated similarity reaches `threshold` are linked. The window is part
of the link rule, not only of the search, so the stories do not depend on the order articles
arrive in. A story is a
connected group of linked articles: its id is the id of its first article (earliest
publication, then smallest id), so the same articles give the same stories whatever order and
however many runs and workers they came in. A new article that links two stories merges them.

Articles that share only boilerplate (a newsletter blurb, a subscription appeal) stay apart: the
shared paragraphs are a small part of each article's shingles, far under the threshold.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from newslake.tasks.lake.daterange import around
from newslake.tasks.lake.index import LakeIndex
from newslake.tasks.lake.partitions import days_files
from newslake.tasks.lake.staging import Staging, read_staged
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import PARTITION, STORIES

__all__ = ["BANDS", "SHINGLE", "assign_stories", "signature_rows"]

PERMUTATIONS = 128
BANDS = 32  # of PERMUTATIONS / BANDS = 4 hashes: candidates from a similarity of about 0.42
SHINGLE = 5
_SEED = 1  # fixed: a signature must mean the same in every run
_ROWS = PERMUTATIONS // BANDS


def _signature(text: str) -> np.ndarray | None:
    # Imported here, where the workers make signatures: datasketch imports scipy with it (0.6 s
    # of CPU), which the command's process, committing, never uses.
    from datasketch import MinHash

    words = re.findall(r"\w+", text.casefold())
    if len(words) < SHINGLE:
        return None
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    minhash = MinHash(num_perm=PERMUTATIONS, seed=_SEED)
    minhash.update_batch([s.encode("utf-8", "surrogatepass") for s in shingles])
    return np.asarray(minhash.hashvalues, dtype=np.uint32)  # values under 2**32: no loss


def _bands(signature: np.ndarray) -> list[int]:
    """LSH keys: a 63-bit hash of each band of the signature, salted with the band's number."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * _ROWS : (band + 1) * _ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, salt=band.to_bytes(8, "big")).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def signature_rows(articles: pl.DataFrame) -> pl.DataFrame:
    """The pending `stories` rows (signature and band keys; no story yet) of a batch's articles."""
    rows = []
    for article_id, capture_id, text, published, fetched, day in articles.select(
        "article_id", "capture_id", "text", "published_at", "fetched_at", PARTITION
    ).iter_rows():
        signature = _signature(text or "")
        if signature is None:
            continue
        rows.append(
            {
                "article_id": article_id,
                "capture_id": capture_id,
                "story_id": None,
                "similarity": None,
                "first_article_id": None,
                "first_at": None,
                "published_at": published or fetched,
                "signature": signature.tolist(),
                "bands": _bands(signature),
                PARTITION: day,
            }
        )
    schema = pl.Schema({**STORIES, PARTITION: pl.Date()})
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else schema.to_frame()


def _similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The estimated Jaccard similarity of two signatures: the share of equal hash values."""
    return float(np.mean(np.asarray(a, dtype=np.uint32) == np.asarray(b, dtype=np.uint32)))


def _lake_matches(
    lake: Lake,
    keys: set[int],
    days: set[date],
    files: dict[str, pl.DataFrame],
    story_ids: set[str] | None = None,
) -> pl.DataFrame:
    """The lake's stories rows on these days that share a band key (or, when given, belong
    to one of these stories).

    `files` keeps each file read for the run's second pass (the members of the stories found,
    mostly on the same days), so that a file is read once: one GET on an object store. Memory
    is bounded by the partitions of the run's window of days, not by the lake.
    """
    wanted = pl.Series(list(keys), dtype=pl.Int64).implode()
    hit = pl.col("bands").list.eval(pl.element().is_in(wanted)).list.any()
    if story_ids is not None:
        hit = pl.col("story_id").is_in(pl.Series(list(story_ids), dtype=pl.String).implode())
    schema = pl.Schema({**STORIES, PARTITION: pl.Date()})
    order = sorted(days)  # each day listed, and the files not yet read fetched, side by side
    listed = days_files(lake, "stories", order)
    files.update(lake.read_each([p for paths in listed for p in paths if p not in files]))
    found = []
    for day, paths in zip(order, listed, strict=True):
        for path in paths:
            rows = files[path].filter(hit)
            if rows.height:
                rows = rows.with_columns(pl.lit(day).alias(PARTITION))
                found.append(rows.select(schema.names()).cast(schema))
    return pl.concat(found) if found else schema.to_frame()


def _components(rows: pl.DataFrame, threshold: float, window: int) -> dict[str, str]:
    """article_id → a representative, over links between rows that share a band key, are
    similar enough and lie within `window` days of each other, and over the stories the lake
    already has (their members stay together)."""
    parent = {a: a for a in rows["article_id"]}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for _, group in rows.filter(pl.col("story_id").is_not_null()).group_by("story_id"):
        ids = group["article_id"].to_list()
        for other in ids[1:]:
            union(ids[0], other)
    signatures = dict(zip(rows["article_id"], rows["signature"].to_list(), strict=True))
    days = dict(zip(rows["article_id"], rows[PARTITION].to_list(), strict=True))
    by_band = (
        rows.select("article_id", "bands").explode("bands").group_by("bands").agg("article_id")
    )
    for members in by_band["article_id"].to_list():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if (
                    find(a) != find(b)
                    and abs((days[a] - days[b]).days) <= window
                    and _similarity(signatures[a], signatures[b]) >= threshold
                ):
                    union(a, b)
    return {a: find(a) for a in parent}


def assign_stories(staging: Staging, index: LakeIndex, threshold: float, window: int) -> None:
    """Give the run's articles their stories, updating the lake's articles whose story changed
    (merged or given an earlier first article); the rows are staged for the run's commit.

    The lake's candidates are read from the stories partitions within `window` days of the
    run's articles, and the members of the stories they belong to from the days the index names
    for those stories: a run reads the days around its own, whatever the lake's size.
    """
    lake = staging.lake
    files = staging.files("stories")
    if not files:
        return
    pending = read_staged(lake, files, "stories")
    chosen = staging.files("articles")
    captures = lake.read(chosen, ["capture_id"])["capture_id"] if chosen else pl.Series([])
    pending = pending.filter(pl.col("capture_id").is_in(captures.implode()))
    for path in files:
        staging.remove(path)
    if pending.is_empty():
        return
    keys = {k for bands in pending["bands"].to_list() for k in bands}
    days = around(set(pending[PARTITION].to_list()), window)
    read: dict[str, pl.DataFrame] = {}
    matched = _lake_matches(lake, keys, days, read).filter(
        ~pl.col("article_id").is_in(pending["article_id"].implode())
    )
    stories = set(matched["story_id"].drop_nulls().to_list())
    if stories:
        ids = pl.Series(sorted(stories), dtype=pl.String)
        members = _lake_matches(lake, set(), index.days("story", ids), read, stories)
    else:
        members = matched.clear()
    rows = pl.concat([pending, matched, members]).unique(
        "article_id", keep="first", maintain_order=True
    )
    groups = _components(rows, threshold, window)
    rows = rows.with_columns(pl.col("article_id").replace_strict(groups).alias("_group"))
    firsts = (
        rows.sort(["published_at", "article_id"], nulls_last=True)
        .unique("_group", keep="first", maintain_order=True)
        .select(
            "_group",
            pl.col("article_id").alias("_first"),
            pl.col("published_at").alias("_first_at"),
            pl.col("signature").alias("_first_signature"),
        )
    )
    rows = rows.join(firsts, on="_group")
    pairs = zip(rows["signature"].to_list(), rows["_first_signature"].to_list(), strict=True)
    similarity = [_similarity(a, b) for a, b in pairs]
    final = rows.with_columns(
        pl.col("_first").alias("story_id"),
        pl.Series("similarity", similarity, dtype=pl.Float64),
        pl.col("_first").alias("first_article_id"),
        pl.col("_first_at").alias("first_at"),
    ).select([*STORIES.names(), PARTITION])
    staging.write("stories", 0, final)
