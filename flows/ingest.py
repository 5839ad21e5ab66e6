"""The `ingest` flow: read pages → decode and extract in batches → commit one lake.

The flow's own process streams pages out of the inputs and cuts them into batches; worker
processes (Prefect's ProcessPoolTaskRunner, or a Dask cluster) decode, extract and stage each
batch; at the end the flow commits the staged rows into the lake's partitions. Only a bounded
number of batches is in flight at once, so memory does not grow with the size of the input.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from pathlib import Path

from prefect import flow
from prefect.futures import PrefectFuture, as_completed
from rich.progress import Progress, TaskID

from tasks.batch import BatchResult, process_batch
from tasks.errors import InputNotFoundError
from tasks.feeds import parse_url_list
from tasks.lake import (
    CommitStats,
    commit_children,
    commit_table,
    drop_staging,
    lake_lock,
    staged_sources,
)
from tasks.load import iter_pages, resolve_inputs
from tasks.records import RawPage, Reject
from tasks.settings import Settings, load_settings
from tasks.sources import Outlet, is_web_input, load_sources
from tasks.store import Lake
from tasks.tables import CHILDREN
from tasks.web import WebStats, web_pages

__all__ = ["RunSummary", "ingest"]


@dataclass(kw_only=True)
class RunSummary:
    """What one run did: the page accounting users check (pages = articles + rejects + dups)."""

    run_id: str
    lake: str
    pages: int = 0
    articles: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    tables: dict[str, CommitStats] = field(default_factory=dict)
    domains: Counter[str] = field(default_factory=Counter)
    words: int = 0
    seconds: float = 0.0
    web: WebStats = field(default_factory=WebStats)
    entities: int = 0
    quotes: int = 0
    no_model: Counter[str] = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        """Distinct pages that produced no article, over all stages."""
        return sum(self.rejects.values()) - self.tables["rejects"].duplicates


def _batches(
    items: Iterable[RawPage | Reject], settings: Settings
) -> Iterator[tuple[list[RawPage], list[Reject]]]:
    """Cut the stream of pages into batches bounded both in pages and in bytes."""
    pages: list[RawPage] = []
    rejects: list[Reject] = []
    size = 0
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            pages.append(item)
            size += len(item.body) + len(item.pre_extracted.text if item.pre_extracted else "")
        if (
            len(pages) + len(rejects) >= settings.run.batch_pages
            or size >= settings.run.batch_bytes
        ):
            yield pages, rejects
            pages, rejects, size = [], [], 0
    if pages or rejects:
        yield pages, rejects


def _progress(enabled: bool, total_files: int) -> tuple[Progress | None, TaskID]:
    if not enabled:
        return None, TaskID(0)
    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task(f"ingesting {total_files} file(s)", total=None)


def _web_outlets(web_inputs: list[str], sources: str | None) -> list[Outlet]:
    """Outlets from the sources file plus one for the URLs and URL lists on the command line."""
    outlets = load_sources(Path(sources)) if sources else []
    lists = [Path(i) for i in web_inputs if not i.lower().startswith(("http://", "https://"))]
    for path in lists:
        if not path.is_file():
            raise InputNotFoundError(str(path))
    listed = tuple(c.url for path in lists for c in parse_url_list(path.read_text(), str(path)))
    probe = tuple(i for i in web_inputs if i.lower().startswith(("http://", "https://")))
    if listed or probe:
        outlets.append(Outlet(name="command line", urls=listed, probe=probe))
    return outlets


@flow(name="ingest", log_prints=False, validate_parameters=False)
def ingest(
    inputs: list[str],
    lake: str | None = None,
    workers: int | None = None,
    settings: Settings | None = None,
    progress: bool = False,
    sources: str | None = None,
    refresh: bool = False,
    since: date | None = None,
    until: date | None = None,
) -> RunSummary:
    """Ingest pages into the lake: files (HTML, JSONL, WARC), URLs, URL lists and outlets.

    Args:
        inputs: files or directories to read (walked recursively), http(s) URLs of feeds,
            sitemaps or pages, and `.txt` lists of article URLs.
        lake: the lake's root directory; defaults to config/newslake.toml's `lake.root`.
        workers: worker processes; defaults to `run.workers` (0 = one per core).
        settings: resolved settings; read from config/ and the environment when omitted.
        progress: show a progress bar on the terminal.
        sources: a sources file (config/sources.toml) whose outlets are discovered and fetched.
        refresh: fetch again URLs the lake already has (conditionally, with ETag/Last-Modified).
        since: only discovered URLs dated on or after this day (undated ones are kept).
        until: only discovered URLs dated on or before this day.
    """
    settings = settings or load_settings()
    if lake is not None:
        settings = replace(settings, lake=lake)
    if workers is not None:
        settings = replace(settings, run=replace(settings.run, workers=workers))
    started = time.perf_counter()
    files = resolve_inputs([i for i in inputs if not is_web_input(i)])
    outlets = _web_outlets([i for i in inputs if is_web_input(i)], sources)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    lake_path = Lake.of(settings.lake)
    summary = RunSummary(run_id=run_id, lake=lake_path.url)
    totals = BatchResult()
    inflight_cap = settings.run.worker_count * settings.run.inflight_per_worker
    bar, bar_task = _progress(progress, len(files))
    with lake_lock(lake_path):
        inflight: list[PrefectFuture[BatchResult]] = []

        def collect(future: PrefectFuture[BatchResult]) -> None:
            result = future.result()
            inflight.remove(future)
            totals.add(result)
            if bar is not None:
                bar.update(bar_task, advance=result.pages, description=f"{totals.pages} pages")

        items: Iterable[RawPage | Reject] = iter_pages(files, settings.limits)
        if outlets:
            web = web_pages(
                outlets, settings, run_id, summary.web, refresh=refresh, since=since, until=until
            )
            items = chain(items, web)
        for number, (pages, rejects) in enumerate(_batches(items, settings)):
            if len(inflight) >= inflight_cap:
                collect(next(as_completed(inflight)))
            inflight.append(
                process_batch.submit(pages, rejects, settings=settings, run_id=run_id, batch=number)
            )
        for future in as_completed(list(inflight)):
            collect(future)
        if bar is not None:
            bar.stop()
        summary.tables["articles"] = commit_table(lake_path, run_id, "articles")
        # A page that is an article now leaves the rejects an earlier run gave it.
        resolved = staged_sources(lake_path, run_id, "articles")
        summary.tables["rejects"] = commit_table(lake_path, run_id, "rejects", resolved)
        for child in CHILDREN:
            summary.tables[child] = commit_children(lake_path, run_id, child)
        drop_staging(lake_path, run_id)
    summary.pages = totals.pages
    summary.articles = totals.articles - summary.tables["articles"].duplicates
    summary.rejects = totals.rejects
    summary.duplicates = (
        summary.tables["articles"].duplicates + summary.tables["rejects"].duplicates
    )
    summary.domains = totals.domains
    summary.words = totals.words
    summary.entities = totals.entities
    summary.quotes = totals.quotes
    summary.no_model = totals.no_model
    summary.seconds = time.perf_counter() - started
    return summary
