"""Throughput against the number of Dask workers, on the same pages, in one run.

Run: `.venv/bin/python -m bench.scaling [--workers 1,2,4,8,16] [--pages N] [--repeat K]`, or
`--model` for the many-core model: what this machine can measure of the parts that bound a
cluster (the coordinator's dispatch ceiling with workers that do no work, one worker's pages/s,
the serial commit's cost per page) and the pages/s they predict for 16, 64 and 512 workers.

Each point is a real `newslake ingest --runner dask --workers N` (a LocalCluster of N
single-threaded worker processes) into a fresh lake, entities and quotes on. The rate is pages /
the run's own duration from the lake's run log, which starts once the cluster is up (cluster
start-up is reported apart). `--repeat K` feeds each page K times under new names, for machines
fast enough to finish the corpus in seconds. Worker counts above the machine's cores are skipped
unless asked for: they measure oversubscription, not scaling.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed

from bench.corpus import record, require
from newslake.tasks.lake.runlog import recent_runs

NEWSLAKE = Path(sys.executable).with_name("newslake")


def _pages(count: int, repeat: int, folder: Path) -> int:
    """Copy `count` corpus pages (0 = all) into `folder`, each `repeat` times with its own text."""
    pages = sorted(require("pages/html").glob("*.html.gz"))
    pages = pages[:count] if count else pages
    folder.mkdir(parents=True)
    for k in range(repeat):
        for path in pages:
            body = gzip.decompress(path.read_bytes())
            if k:  # a different page to the lake: the copy number is part of its text
                body = body.replace(b"</body>", f"<p>copy {k}</p></body>".encode(), 1)
            (folder / f"{k:02d}-{path.name}").write_bytes(gzip.compress(body, 1))
    return len(pages) * repeat


def _ingest(folder: Path, lake: Path, workers: int) -> tuple[float, float, int]:
    """(wall seconds, run seconds, pages) of one ingest on a LocalCluster of `workers`."""
    args = ["ingest", str(folder), "--lake", str(lake), "--runner", "dask"]
    started = time.perf_counter()
    done = subprocess.run(
        [str(NEWSLAKE), *args, "--workers", str(workers), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"newslake failed:\n{done.stdout}\n{done.stderr}")
    run = recent_runs(lake, 1).row(0, named=True)
    return wall, float(run["seconds"]), int(run["pages"])


@task(name="noop-shard", cache_policy=NO_CACHE, persist_result=False)
def _noop_shard(files: list[str], number: int) -> int:
    """A shard whose worker does no work: what is left is the coordinator's cost."""
    return len(files)


@flow(name="dispatch-ceiling")
def _dispatch(shards: int, cap: int) -> int:
    """Hand out `shards` shard names with process_files' bounded in-flight loop."""
    inflight: list[PrefectFuture[int]] = []
    done = 0
    for number in range(shards):
        if len(inflight) >= cap:
            future = next(as_completed(inflight))
            inflight.remove(future)
            done += future.result()
        inflight.append(_noop_shard.submit([f"s3://bucket/crawl/{number:06d}.warc.gz"], number))
    for future in as_completed(list(inflight)):
        done += future.result()
    return done


def _model(pages_per_shard: int) -> list[str]:
    """Measure the bounds and print the model (see the module docstring)."""
    from prefect.task_runners import ProcessPoolTaskRunner

    from newslake.tasks.lake.commit import commit_children, commit_table
    from newslake.tasks.pages.batch import BatchResult
    from newslake.tasks.pages.shard import process_shard
    from newslake.tasks.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="newslake-model-"))
    shards = 400
    runner = ProcessPoolTaskRunner(max_workers=2)
    _dispatch.with_options(task_runner=runner)(20, 4)  # warm: pool started, code imported
    started = time.perf_counter()
    _dispatch.with_options(task_runner=runner)(shards, 4)
    dispatch_s = (time.perf_counter() - started) / shards
    pages = sorted(require("pages/html").glob("*.html.gz"))[:128]
    settings = load_settings()
    settings = replace(settings, lake=str(work / "lake"))
    process_shard.fn([str(p) for p in pages[:16]], 0, settings=settings, run_id="warm")
    started = time.perf_counter()
    totals: BatchResult = process_shard.fn(
        [str(p) for p in pages], 1, settings=settings, run_id="model"
    )
    worker_rate = totals.pages / (time.perf_counter() - started)
    started = time.perf_counter()
    partitions = commit_table.fn(settings.lake, "model", "articles").partitions
    commit_table.fn(settings.lake, "model", "rejects")
    for child in ("entities", "quotes"):
        commit_children.fn(settings.lake, "model", child)
    commit_s = time.perf_counter() - started
    commit_per_page = commit_s / totals.pages
    shutil.rmtree(work, ignore_errors=True)
    serial = dispatch_s / pages_per_shard + commit_per_page
    lines = [
        f"`python -m bench.scaling --model --pages-per-shard {pages_per_shard}` — measured on "
        f"{os.cpu_count()} cores:",
        "",
        f"- coordinator: {1 / dispatch_s:,.0f} shards/s handed out and collected with workers "
        f"that do no work ({dispatch_s * 1000:.2f} ms per shard; process pool, Prefect task "
        f"runs), i.e. {pages_per_shard / dispatch_s:,.0f} pages/s at {pages_per_shard:,} pages "
        "per shard (the flow names shards, it ships no page);",
        f"- one worker: {worker_rate:.1f} pages/s (128 corpus pages, full pipeline, one process);",
        f"- serial commit: {commit_s:.2f} s for {totals.pages} pages in {partitions} date "
        f"partitions = {commit_per_page * 1000:.2f} ms per page, {commit_s / partitions * 1000:.0f}"
        " ms per partition (merging the staged rows into the partitions, done once by the flow; "
        "the corpus pages span many dates, a day of a news crawl far fewer).",
        "",
        "Model: pages/s(N) = 1 / (1 / (N x worker rate) + dispatch per page + commit per "
        "page) — the workers scale, the coordinator's dispatch and the single commit do not.",
    ]
    # A day of a news crawl: its pages fall into a few publication days, so the commit's cost is
    # per partition, not per page. Assumed: 20 partitions per 10,000 pages.
    crawl_commit = commit_s / partitions * 20 / 10_000
    crawl_serial = dispatch_s / pages_per_shard + crawl_commit
    lines += [
        "",
        f"Two cases: the corpus as measured (commit {commit_per_page * 1000:.2f} ms per page), "
        f"and a crawl's day (20 partitions per 10,000 pages: {crawl_commit * 1000:.3f} ms per "
        "page).",
        "",
        "| workers | predicted pages/s, corpus | predicted pages/s, crawl day "
        "| of linear (crawl) |",
        "|---|---|---|---|",
    ]
    for n in (16, 64, 512):
        corpus_rate = 1 / (1 / (n * worker_rate) + serial)
        rate = 1 / (1 / (n * worker_rate) + crawl_serial)
        lines.append(f"| {n} | {corpus_rate:,.0f} | {rate:,.0f} | {rate / (n * worker_rate):.0%} |")
    lines += [
        "",
        "Assumptions: workers on their own cores read their shards from the object store at "
        "the rate measured here from local disk (a WARC of CC-NEWS is read sequentially, so "
        "bandwidth, not latency, bounds it); the commit's cost per page stays what it is at "
        "this lake size (it grows with the partitions a run touches, not with the workers); "
        "Prefect's per-task cost on a remote scheduler is of the order measured here on a "
        "local pool. Not measured: the Dask scheduler's own ceiling, network, object-store "
        "throttling.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="store_true", help="measure the bounds, print a model")
    parser.add_argument("--pages-per-shard", type=int, default=2000, help="for --model")
    parser.add_argument("--workers", default="1,2,4,8,16", help="worker counts, comma-separated")
    parser.add_argument("--pages", type=int, default=0, help="corpus pages to use (0 = all)")
    parser.add_argument("--repeat", type=int, default=1, help="feed each page this many times")
    parser.add_argument("--oversubscribe", action="store_true", help="run counts above cores")
    args = parser.parse_args()
    if args.model:
        lines = _model(args.pages_per_shard)
        print("\n".join(lines))
        record("Scaling model (many cores, on paper)", "\n".join(lines))
        return
    cores = os.cpu_count() or 1
    counts = [int(n) for n in args.workers.split(",")]
    skipped = [n for n in counts if n > cores and not args.oversubscribe]
    counts = [n for n in counts if n not in skipped]
    work = Path(tempfile.mkdtemp(prefix="newslake-scaling-"))
    total = _pages(args.pages, args.repeat, work / "pages")
    results = {n: _ingest(work / "pages", work / f"lake-{n}", n) for n in counts}
    shutil.rmtree(work, ignore_errors=True)

    base = results[counts[0]][2] / results[counts[0]][1]
    lines = [
        f"`python -m bench.scaling --workers {args.workers} --pages {args.pages} --repeat "
        f"{args.repeat}` — {total} pages, {cores} cores, Dask LocalCluster "
        "(one single-threaded worker process per worker), entities and quotes on.",
        "",
        "| Dask workers | run s | pages/s | speed-up vs "
        f"{counts[0]} worker(s) | wall s incl. cluster start |",
        "|---|---|---|---|---|",
    ]
    for n, (wall, seconds, pages) in results.items():
        rate = pages / seconds
        lines.append(f"| {n} | {seconds:.1f} | {rate:.1f} | {rate / base:.2f}x | {wall:.1f} |")
    if skipped:
        lines += ["", f"Not run here (more workers than the {cores} cores): {skipped}."]
    print("\n".join(lines))
    record(f"Dask scaling ({cores} cores)", "\n".join(lines))


if __name__ == "__main__":
    main()
