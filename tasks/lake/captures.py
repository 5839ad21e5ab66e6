"""Which capture of an article its row is built from, decided when a run commits.

A crawl captures the same URL many times, and a directory may hold a page and a truncated copy
of it. Every page read that yields an article is a capture (the `captures` table); the article
row is built from the **latest** capture, among captures of the same time the **most complete**
one, and a capture with under half the words of the article's longest capture — a truncated,
paywalled or error version — never becomes the article row. The choice is made over the run's
captures and the lake's current row, with the longest capture read from the `captures` table,
so the same captures give the same article whatever order the runs came in. The entities and
quotes staged with a capture that is not chosen are dropped with it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import polars as pl

from newslake.tasks.lake.index import LakeIndex
from newslake.tasks.lake.partitions import days_files, newest_rows
from newslake.tasks.lake.staging import Staging, read_staged, read_staged_batches
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import CAPTURED_AT, CHILDREN, PARTITION

__all__ = ["TRUNCATED_SHARE", "choose_captures"]

# A capture with fewer words than this share of the article's longest capture is a truncated,
# paywalled or error version of it: it is recorded, never made the article row.
TRUNCATED_SHARE = 0.5


def _lake_rows(lake: Lake, index: LakeIndex, ids: pl.Series) -> pl.DataFrame:
    """The lake's current article rows of these articles (their capture, time and length),
    read from the partitions the index names for them."""
    columns = ["article_id", "capture_id", "fetched_at", "extracted_at", "word_count"]
    days = sorted(index.days("articles", ids))
    listed = days_files(lake, "articles", days)
    frames = list(lake.read_each([path for paths in listed for path in paths], columns).values())
    if not frames:
        return pl.DataFrame(
            schema={"article_id": pl.String, "capture_id": pl.String, "captured_at": pl.Datetime,
                    "word_count": pl.Int32}
        )  # fmt: skip
    return (
        newest_rows(frames, "article_id")
        .filter(pl.col("article_id").is_in(ids.implode()))
        .select("article_id", "capture_id", CAPTURED_AT, "word_count")
    )


def _longest(index: LakeIndex, ids: pl.Series) -> pl.DataFrame:
    """The word count of each article's longest capture in the lake (kept in the index)."""
    return (
        index.rows("captures", ids)
        .group_by(pl.col("key").alias("article_id"))
        .agg(pl.col("words").max().alias("longest"))
    )


def choose_captures(staging: Staging, index: LakeIndex) -> int:
    """Keep, in the run's staging, only the article rows (and their entities and quotes) of the
    captures chosen to be the articles' rows; return how many articles keep the lake's row."""
    lake = staging.lake
    files = staging.files("articles")
    if not files:
        return 0
    staged = read_staged_batches(lake, files, "articles")
    ids = staged["article_id"].unique()
    ours = staged.select("article_id", "capture_id", CAPTURED_AT, "word_count", "_batch")
    theirs = _lake_rows(lake, index, ids).with_columns(pl.lit(-1).alias("_batch"))
    candidates = pl.concat([ours, theirs.cast(ours.schema)]).unique(["article_id", "capture_id"])
    longest = (
        pl.concat([candidates.select("article_id", longest=pl.col("word_count")),
                   _longest(index, ids).cast({"longest": pl.Int32})])
        .group_by("article_id")
        .agg(pl.col("longest").max())
    )  # fmt: skip
    chosen = (
        candidates.join(longest, on="article_id")
        .filter(pl.col("word_count") >= TRUNCATED_SHARE * pl.col("longest"))
        .sort(["captured_at", "word_count", "capture_id"], descending=[True, True, False])
        .unique("article_id", keep="first", maintain_order=True)
    )
    kept_from_lake = chosen.filter(pl.col("_batch") < 0).height
    # A batch's child rows are staged under the same file name as its article rows.
    children = {
        child: {PurePosixPath(p).name: p for p in staging.files(child)} for child in CHILDREN
    }
    for number, path in enumerate(files):
        rows = staged.filter(pl.col("_batch") == number)
        keep = rows.join(
            chosen.select("capture_id", "_batch"), on=["capture_id", "_batch"], how="semi"
        )
        _rewrite(staging, path, keep.drop("_batch"), rows.height)
        name = PurePosixPath(path).name
        for child, paths in children.items():
            if name in paths:
                child_rows = read_staged(lake, [paths[name]], child)
                wanted = child_rows.filter(pl.col("article_id").is_in(keep["article_id"].implode()))
                _rewrite(staging, paths[name], wanted, child_rows.height)
    return kept_from_lake


def _rewrite(staging: Staging, path: str, frame: pl.DataFrame, before: int) -> None:
    """Replace a staged file with its kept rows (staging only: readers never see it)."""
    if frame.height != before:
        staging.replace(
            path, frame.select([c for c in frame.columns if c != PARTITION] + [PARTITION])
        )
