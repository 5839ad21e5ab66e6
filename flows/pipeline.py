"""Steps every flow shares: spread batches over the workers, then commit the run's staging.

`ingest`, `backfill` and `reprocess` differ in where their pages come from; once they have a
stream of pages they all process it with `process_items` and make it visible with `commit_run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from functools import partial
from itertools import chain, islice

from prefect.futures import PrefectFuture, as_completed

from newslake.flows.report import RunSummary
from newslake.tasks.crashpoints import crash_point
from newslake.tasks.lake.captures import choose_captures
from newslake.tasks.lake.commit import CommitStats, commit_children, commit_table
from newslake.tasks.lake.index import LakeIndex, save_index
from newslake.tasks.lake.staging import Staging, drop_staging
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.stories import assign_stories
from newslake.tasks.lake.tables import CHILDREN
from newslake.tasks.pages.batch import BatchResult, batches, process_batch
from newslake.tasks.pages.day import DayInputs, day_run_id, process_day
from newslake.tasks.pages.load import iter_pages
from newslake.tasks.pages.shard import SHARD_BATCHES, process_shard, shards
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.settings import Settings
from newslake.tasks.web.raw import raw_files, raw_index

__all__ = [
    "commit_run",
    "process_files",
    "process_items",
    "run_days",
]


def process_items(
    items: Iterable[RawPage | Reject],
    settings: Settings,
    run_id: str,
    on_batch: Callable[[BatchResult], None] | None = None,
    first_batch: int = 0,
) -> BatchResult:
    """Submit the stream's batches to the flow's task runner, a bounded number at a time.

    Each batch stages its own rows; only counts come back. At most `workers x
    inflight_per_worker` batches are in flight, so memory does not grow with the input. A
    stream that ends within `run.inline_pages` items is processed here, in the flow's own
    process: starting worker processes (each importing Prefect, spaCy and trafilatura) would
    cost many times the work of a handful of pages.
    """
    stream = iter(items)
    head = list(islice(stream, settings.run.inline_pages + 1))
    if len(head) <= settings.run.inline_pages:
        return _process_inline(head, settings, run_id, on_batch, first_batch)
    stream_batches = batches(chain(head, stream), settings.run)
    return _bounded(
        (
            partial(process_batch.submit, pages, rejects, settings=settings, run_id=run_id,
                    batch=number)
            for number, (pages, rejects) in enumerate(stream_batches, start=first_batch)
        ),
        settings,
        on_batch,
    )  # fmt: skip


def _bounded(
    submissions: Iterable[Callable[[], PrefectFuture[BatchResult]]],
    settings: Settings,
    on_batch: Callable[[BatchResult], None] | None,
) -> BatchResult:
    """Make each submission to the flow's task runner, with at most `workers x
    inflight_per_worker` in flight (the next waits for one to finish); the summed counts."""
    totals = BatchResult()
    inflight: list[PrefectFuture[BatchResult]] = []
    cap = settings.run.worker_count * settings.run.inflight_per_worker

    def collect(future: PrefectFuture[BatchResult]) -> None:
        inflight.remove(future)
        totals.add(future.result())
        if on_batch is not None:
            on_batch(totals)

    for submit in submissions:
        if len(inflight) >= cap:
            collect(next(as_completed(inflight)))
        inflight.append(submit())
    for future in as_completed(list(inflight)):
        collect(future)
    return totals


def _process_inline(
    items: list[RawPage | Reject],
    settings: Settings,
    run_id: str,
    on_batch: Callable[[BatchResult], None] | None,
    first_batch: int,
) -> BatchResult:
    """The batches of a small stream, run one after another in this process (still as Prefect
    task runs, so the run looks the same in the UI)."""
    totals = BatchResult()
    for number, (pages, rejects) in enumerate(batches(items, settings.run), start=first_batch):
        totals.add(process_batch(pages, rejects, settings=settings, run_id=run_id, batch=number))
        if on_batch is not None:
            on_batch(totals)
    return totals


def process_files(
    files: list[str],
    settings: Settings,
    run_id: str,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> tuple[BatchResult, int]:
    """Process input files: a handful of pages here (`process_items`), more as shards that the
    workers read themselves (`tasks/pages/shard.py`), a bounded number in flight. Returns the counts
    and the first batch number left free for pages that come after (the web's)."""
    pages = iter_pages(files, settings.limits)
    head = list(islice(pages, settings.run.inline_pages + 1))
    pages.close()  # what was read ahead is read again by the shards
    if len(head) <= settings.run.inline_pages:
        return process_items(head, settings, run_id, on_batch), SHARD_BATCHES
    run = settings.run
    numbered = list(enumerate(shards(files, run.batch_pages, run.worker_count)))
    totals = _bounded(
        (partial(process_shard.submit, shard, n, settings=settings, run_id=run_id)
         for n, shard in numbered),
        settings,
        on_batch,
    )  # fmt: skip
    return totals, len(numbered) * SHARD_BATCHES


def commit_run(lake: Lake, run_id: str, settings: Settings) -> dict[str, CommitStats]:
    """Merge everything the run staged into the lake's tables, then drop its staging.

    First each article's row is chosen among its captures (`tasks/lake/captures.py`), and the run's
    articles are given their stories (`tasks/lake/stories.py`); the captures and versions are kept
    whatever was chosen. The lake's index (`tasks/lake/index.py`) names the partitions that hold
    the old rows of what the run staged, and is saved once every table is committed: a commit
    killed before that leaves its staging, which the next run folds into the index.
    """
    index, staging = LakeIndex(lake), Staging(lake, run_id)
    kept = choose_captures(staging, index)
    if settings.stories.enabled:
        assign_stories(staging, index, settings.stories.threshold, settings.stories.window_days)
    articles = commit_table(lake, run_id, "articles", index=index, staging=staging)
    tables = {"articles": replace(articles, unchanged=articles.unchanged + kept)}
    crash_point("table-committed")
    # A page that is a capture now leaves the rejects an earlier run gave it.
    resolved = staging.sources("captures")
    tables["rejects"] = commit_table(lake, run_id, "rejects", resolved, index, staging)
    for table in ("captures", "versions", "stories"):
        tables[table] = commit_table(lake, run_id, table, index=index, staging=staging)
    for child in CHILDREN:
        tables[child] = commit_children(lake, run_id, child, index=index, staging=staging)
        crash_point("table-committed")
    save_index(index)
    drop_staging(lake, run_id)
    return tables


def run_days(
    days: dict[date, DayInputs], settings: Settings, run_id: str, summary: RunSummary
) -> tuple[BatchResult, dict[str, CommitStats]]:
    """Process each day as its own task (days run in parallel, a failed day retries alone),
    then commit the days that succeeded, one after another; return the days' counts and the
    commits' statistics. A day that still fails after its retries is left out of the lake,
    its staging dropped, and named in `summary.failed_days`."""
    lake = Lake.of(settings.lake)
    if any(inputs.urls for inputs in days.values()):
        index = raw_index(lake)  # one read of the raw zone's URLs for all the days
        days = {d: replace(i, raw_files=raw_files(index, i.urls)) for d, i in days.items()}
    futures = {
        day: process_day.submit(day, inputs, settings=settings, run_id=run_id)
        for day, inputs in sorted(days.items())
    }
    totals = BatchResult()
    tables: dict[str, CommitStats] = {}
    for day, future in futures.items():
        rid = day_run_id(run_id, day)
        future.wait()
        state = future.state
        if not state.is_completed():
            summary.failed_days[day] = str(state.message or state.name)
            drop_staging(lake, rid)
            continue
        totals.add(future.result())
        for table, stats in commit_run(lake, rid, settings).items():
            tables[table] = _sum_stats(tables.get(table, CommitStats()), stats)
    return totals, tables


def _sum_stats(a: CommitStats, b: CommitStats) -> CommitStats:
    return CommitStats(
        new=a.new + b.new,
        updated=a.updated + b.updated,
        unchanged=a.unchanged + b.unchanged,
        duplicates=a.duplicates + b.duplicates,
        partitions=a.partitions + b.partitions,
    )
