"""Shards — groups of input files — read and processed by the worker each is handed to.

The flow hands out file names (local paths or object-store URLs) and collects counts; the
worker opens the files itself, cuts their pages into batches and stages them. So no page's
bytes pass through the flow's process, which would otherwise cap a cluster at the pages per
second one process can read, decompress and pickle. An archive (WARC, JSONL) is a shard of its
own; single-page HTML files are grouped, a batch's worth to a shard, so that each page does not
pay a task's overhead.
"""

from __future__ import annotations

from collections.abc import Iterator

from prefect import task
from prefect.cache_policies import NO_CACHE

from newslake.tasks.pages.batch import BatchResult, process_in_turn
from newslake.tasks.pages.load import input_kind, iter_pages
from newslake.tasks.settings import Settings

__all__ = ["SHARD_BATCHES", "process_shard", "shards"]

# Batch numbers of shard n are n * SHARD_BATCHES + i: staged files sort by shard, then batch,
# as they would if one process had read the files in order.
SHARD_BATCHES = 1_000_000


@task(
    name="process-shard",
    task_run_name="shard-{number}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def process_shard(files: list[str], number: int, *, settings: Settings, run_id: str) -> BatchResult:
    """Read a shard's files and decode, extract, enrich and stage their pages, batch by batch.

    Args:
        files: local paths or fsspec URLs.
        number: the shard's number within the run, which names its staged batches.
        settings: the run's settings.
        run_id: the run these rows belong to.
    """
    return process_in_turn(
        iter_pages(files, settings.limits),
        settings=settings,
        run_id=run_id,
        first_batch=number * SHARD_BATCHES,
    )


def shards(files: list[str], pages_per_shard: int, workers: int = 1) -> Iterator[list[str]]:
    """The files cut into shards, in order: an archive alone, HTML files at most
    `pages_per_shard` at a time, in shards of equal size whose number is a multiple of
    `workers`.

    Cut greedily, 150 files at 64 a shard on two workers are 64, 64 and 22: the third shard
    runs alone on one worker while the other idles, a seventh of such a run's pages
    (bench/RESULTS.md, "Before a run is steady"). Four shards of 36-38 keep both busy to the end.
    """
    html = sum(1 for name in files if input_kind(name) == "html")
    count = -(-html // pages_per_shard)
    count = min(html, -(-count // workers) * workers) if count else 0
    size = -(-html // count) if count else pages_per_shard
    group: list[str] = []
    for name in files:
        if input_kind(name) != "html":
            if group:
                yield group
                group = []
            yield [name]
            continue
        group.append(name)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group
