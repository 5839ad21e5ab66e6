"""Soak: one long ingest (the corpus repeated under new names), memory and pages/s over time.

Run: `.venv/bin/python -m bench.soak [--repeat 10] [--workers 2]`. The ~1,000 pages of
../shared/corpus/pages are written `--repeat` times, each copy with its own text (so every page
is a new article), and ingested by one `newslake ingest` run with entities and quotes on. Every
half second the benchmark samples the resident memory of the whole process tree (flow process,
Prefect's local server, workers) and counts the batches the workers have staged, which gives
the pages done so far (the tree includes Prefect's local server). It writes the curve to
bench/soak.png and the figures to RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.corpus import record, require  # noqa: E402
from bench.throughput import run_sampled  # noqa: E402
from newslake.tasks.settings import load_settings  # noqa: E402

PLOT = Path(__file__).with_name("soak.png")


def _write_pages(folder: Path, repeat: int) -> int:
    pages = sorted(require("pages/html").glob("*.html.gz"))
    folder.mkdir(parents=True)
    for k in range(repeat):
        for path in pages:
            body = gzip.decompress(path.read_bytes())
            body = body.replace(b"</body>", f"<p>soak copy {k}</p></body>".encode(), 1)
            (folder / f"{k:03d}-{path.name}").write_bytes(gzip.compress(body, 1))
    return len(pages) * repeat


def _staged_batches(lake: Path) -> int:
    """Batches staged so far: each batch writes one file per table it has rows for; `rejects`
    and `articles` together name every batch at least once."""
    names = {p.name for p in lake.glob("_staging/*/articles/*.parquet")}
    names |= {p.name for p in lake.glob("_staging/*/rejects/*.parquet")}
    return len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="copies of the corpus")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0 = cores)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newslake-soak-"))
    total = _write_pages(work / "pages", args.repeat)
    lake = work / "lake"
    batch = load_settings().run.batch_pages
    samples: list[tuple[float, float, int]] = []  # seconds, MiB, pages done
    command = ["ingest", str(work / "pages"), "--lake", str(lake)]
    command += ["--workers", str(args.workers), "--no-progress"]

    def sample(seconds: float, rss_kib: int) -> None:
        # The staging goes when the run commits: from then on, every page is done.
        staged = min(_staged_batches(lake) * batch, total)
        done = samples[-1][2] if samples else 0
        pages = total if done and not staged else max(done, staged)
        samples.append((seconds, rss_kib / 1024, pages))

    wall = run_sampled(command, sample, every_s=0.5)
    shutil.rmtree(work, ignore_errors=True)

    working = [s for s in samples if 0 < s[2] < total]  # between the first and the last batch
    quarters = []
    for q in range(4):
        part = working[q * len(working) // 4 : (q + 1) * len(working) // 4]
        if len(part) >= 2:
            rate = (part[-1][2] - part[0][2]) / max(part[-1][0] - part[0][0], 1e-9)
            quarters.append((q + 1, rate, max(s[1] for s in part), part[-1][1]))
    fig, (mem, rate_ax) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    mem.plot([s[0] for s in samples], [s[1] for s in samples])
    mem.set_ylabel("process tree RSS (MiB)")
    mem.set_ylim(bottom=0)
    mem.set_title(f"newslake ingest, {total:,} pages, soak")
    rate_ax.plot([s[0] for s in samples], [s[2] for s in samples])
    rate_ax.set_ylabel("pages done")
    rate_ax.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)

    lines = [
        f"`python -m bench.soak --repeat {args.repeat} --workers {args.workers}` — {total:,} "
        f"pages in one `newslake ingest` run (entities and quotes on), {wall:.0f} s wall, "
        f"{total / wall:.1f} pages/s overall. Curve: [soak.png](soak.png).",
        "",
        "| quarter of the run | pages/s | peak RSS in the quarter (MiB) | RSS at its end (MiB) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {q} | {r:.1f} | {peak:.0f} | {end:.0f} |" for q, r, peak, end in quarters]
    print("\n".join(lines))
    record("Soak (10,000+ pages)", "\n".join(lines))


if __name__ == "__main__":
    main()
