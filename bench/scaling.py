"""Throughput against the number of Dask workers, on the same pages, in one run.

Run: `.venv/bin/python -m bench.scaling [--workers 1,2,4,8,16] [--pages N] [--repeat K]`.
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
from pathlib import Path

from bench.corpus import record, require
from tasks.runlog import recent_runs

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="1,2,4,8,16", help="worker counts, comma-separated")
    parser.add_argument("--pages", type=int, default=0, help="corpus pages to use (0 = all)")
    parser.add_argument("--repeat", type=int, default=1, help="feed each page this many times")
    parser.add_argument("--oversubscribe", action="store_true", help="run counts above cores")
    args = parser.parse_args()
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
