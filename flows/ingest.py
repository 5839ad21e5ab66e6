"""The `ingest` flow: read pages → decode and extract in batches → commit one lake.

The flow's own process streams pages out of the inputs and cuts them into batches; worker
processes (Prefect's ProcessPoolTaskRunner, or a Dask cluster) decode, extract and stage each
batch; at the end the flow commits the staged rows into the lake's partitions. Only a bounded
number of batches is in flight at once, so memory does not grow with the size of the input.
"""

from __future__ import annotations

from datetime import date
from itertools import chain

from prefect import flow
from rich.progress import Progress, TaskID

from newslake.flows.pipeline import commit_run, process_files, process_items
from newslake.flows.report import RunSummary
from newslake.flows.runners import configured_runner
from newslake.flows.scaffold import open_run
from newslake.tasks.pages.batch import BatchResult
from newslake.tasks.pages.load import resolve_inputs
from newslake.tasks.settings import Settings
from newslake.tasks.web.pages import web_pages
from newslake.tasks.web.sources import is_web_input, url_list_rejects, web_outlets

__all__ = ["RunSummary", "ingest"]


def _progress(enabled: bool, total_files: int) -> tuple[Progress | None, TaskID]:
    if not enabled:
        return None, TaskID(0)
    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task(f"ingesting {total_files} file(s)", total=None)


@flow(name="ingest", log_prints=False, task_runner=configured_runner())
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
    files = resolve_inputs([i for i in inputs if not is_web_input(i)])
    web_inputs = [i for i in inputs if is_web_input(i)]
    outlets = web_outlets(web_inputs, sources)
    bad_lines = url_list_rejects(web_inputs)
    bar, bar_task = _progress(progress, len(files))

    def advance(totals: BatchResult) -> None:
        if bar is not None:
            bar.update(bar_task, completed=totals.pages, description=f"{totals.pages} pages")

    with open_run("ingest", settings, lake, workers) as run:
        settings, summary = run.settings, run.summary
        run.totals, next_batch = process_files(files, settings, run.run_id, advance)
        if outlets or bad_lines:
            web = web_pages(
                outlets, settings, run.run_id, summary.web, refresh=refresh, since=since,
                until=until,
            )  # fmt: skip
            items = chain(bad_lines, web)
            run.totals.add(
                process_items(items, settings, run.run_id, advance, first_batch=next_batch)
            )
        if bar is not None:
            bar.stop()
        run.tables = commit_run(run.lake, run.run_id, settings)
        run.nothing = (
            "nothing new: every discovered URL is already in the lake"
            if summary.web.skipped
            else "nothing to ingest: the inputs held no pages"
        )
    return run.summary
