"""The `ingest` flow: read pages → decode and extract in batches → commit one lake.

The flow's own process streams pages out of the inputs and cuts them into batches; worker
processes (Prefect's ProcessPoolTaskRunner, or a Dask cluster) decode, extract and stage each
batch; at the end the flow commits the staged rows into the lake's partitions. Only a bounded
number of batches is in flight at once, so memory does not grow with the size of the input.
"""

from __future__ import annotations

import time
from datetime import date
from itertools import chain

from prefect import flow
from rich.progress import Progress, TaskID

from flows.pipeline import commit_run, new_run_id, process_files, process_items, run_settings
from flows.report import RunSummary, publish
from flows.runners import task_runner
from tasks.lake.commit import lake_lock
from tasks.lake.store import Lake
from tasks.pages.batch import BatchResult
from tasks.pages.load import resolve_inputs
from tasks.settings import Settings, load_settings
from tasks.web.pages import web_pages
from tasks.web.sources import is_web_input, url_list_rejects, web_outlets

__all__ = ["RunSummary", "ingest"]


def _progress(enabled: bool, total_files: int) -> tuple[Progress | None, TaskID]:
    if not enabled:
        return None, TaskID(0)
    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task(f"ingesting {total_files} file(s)", total=None)


# The task runner comes from config/newslake.toml's [run] (or NEWSLAKE_RUN_*): a deployment loads
# this flow from its entrypoint, so the choice must be made where the flow is defined.
@flow(
    name="ingest",
    log_prints=False,
    task_runner=task_runner(load_settings().run),
)
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
    settings = run_settings(settings, lake, workers)
    started = time.perf_counter()
    files = resolve_inputs([i for i in inputs if not is_web_input(i)])
    web_inputs = [i for i in inputs if is_web_input(i)]
    outlets = web_outlets(web_inputs, sources)
    bad_lines = url_list_rejects(web_inputs)
    run_id = new_run_id()
    store = Lake.of(settings.lake)
    summary = RunSummary(run_id=run_id, lake=store.url)
    bar, bar_task = _progress(progress, len(files))

    def advance(totals: BatchResult) -> None:
        if bar is not None:
            bar.update(bar_task, completed=totals.pages, description=f"{totals.pages} pages")

    with lake_lock(store):
        totals, next_batch = process_files(files, settings, run_id, advance)
        if outlets or bad_lines:
            web = web_pages(
                outlets, settings, run_id, summary.web, refresh=refresh, since=since, until=until
            )
            items = chain(bad_lines, web)
            totals.add(process_items(items, settings, run_id, advance, first_batch=next_batch))
        if bar is not None:
            bar.stop()
        tables = commit_run(store, run_id, settings)
    summary.absorb(totals, tables)
    if not summary.pages:
        summary.note = (
            "nothing new: every discovered URL is already in the lake"
            if summary.web.skipped
            else "nothing to ingest: the inputs held no pages"
        )
    summary.seconds = time.perf_counter() - started
    publish(summary, store)
    return summary
