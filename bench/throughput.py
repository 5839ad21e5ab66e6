"""Pages/s and peak memory of `newslake ingest` against a bare trafilatura loop, side by side.

Run: `.venv/bin/python -m bench.throughput [--small 150] [--pages 600] [--repeat 3]`. Over the
pages of ../shared/corpus/pages it times a small run and a large run of each contender, and
reports the *marginal* rate (extra pages / extra seconds) so that fixed start-up — Prefect's
local server, worker processes — is measured apart from per-page cost; the span (450 pages by
default) is long enough that a second of start-up noise moves the rate by a few per cent, where
50→500 moved the full pipeline's ratio 2x between sittings. "Before steady" is the small run's
time beyond its pages at the marginal rate: its start-up and wind-down. A contender's small and
large runs go back to back (which first alternates from one contender to the next), and the
in-process loops load their spaCy models before the clock starts, as a warm worker has:
otherwise a drift in the machine's speed between phases, or a model load inside the first run,
moves each marginal rate by a different amount. With `--repeat` every contender runs that many
rounds and the medians are reported: single runs of one contender moved by up to a tenth.
Memory is the peak proportional set size of the whole process tree (flow process, fork server,
workers), sampled every 0.5 s; a worker's own resident peak is reported apart. Two bare loops
are the references: trafilatura.extract alone (for ingest with entities off) and
trafilatura.extract + language id + spaCy NER-only on the English texts with the same model
(for the full pipeline). Start-up: a one-page ingest against a bare process that imports
trafilatura and spaCy, loads the model, extracts the page and tags it — with no Prefect server
running, and with PREFECT_API_URL set to a running one.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import trafilatura

from bench.corpus import SMALL_MODEL, record, require
from newslake.tasks.pages.batch import process_batch
from newslake.tasks.records import RawPage
from newslake.tasks.settings import load_settings
from newslake.tasks.text.models import load_pipeline, model_location

NEWSLAKE = Path(sys.executable).with_name("newslake")


def _tree_kib(pid: int, source: str, field: str) -> int:
    """The sum of one /proc memory figure (`field`, in KiB, from /proc/PID/`source`) over a
    process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            text = Path(f"/proc/{current}/{source}").read_text()
            total += int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith(field)))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB, from /proc."""
    return _tree_kib(pid, "status", "VmRSS:")


def tree_pss_kib(pid: int) -> int:
    """Proportional set size of a process and all its descendants, in KiB: each shared page
    counted once, split among the processes sharing it. Workers forked from one fork server
    share its libraries and model, which a sum of resident sizes counts once per process."""
    return _tree_kib(pid, "smaps_rollup", "Pss:")


def run_sampled(
    args: list[str],
    on_sample: Callable[[float, int], None],
    *,
    env: dict[str, str] | None = None,
    every_s: float = 0.05,
    measure: Callable[[int], int] = tree_rss_kib,
) -> float:
    """Run one `newslake` command, calling `on_sample(seconds since start, measure(its pid))`
    (the tree's resident KiB by default) every `every_s` while it runs; return its wall seconds
    (exit on failure)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(NEWSLAKE), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            on_sample(time.perf_counter() - started, measure(proc.pid))
            time.sleep(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode:
        sys.exit(f"newslake failed:\n{out.decode(errors='replace')}")
    return elapsed


def worker_rss_kib() -> int:
    """The largest resident memory of any newslake worker process now running, in KiB."""
    largest = 0
    for proc in Path("/proc").iterdir():
        try:
            if b"multiprocessing.forkserver" in (proc / "cmdline").read_bytes():
                status = (proc / "status").read_text()
                rss = next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))
                largest = max(largest, int(rss))
        except (OSError, StopIteration, ValueError):
            continue
    return largest


WORKER_PEAK = {"kib": 0}


def _run_cli(args: list[str], *, entities: bool = True) -> tuple[float, int]:
    """Wall seconds and peak tree PSS (KiB) of one `newslake` command, sampled every 0.5 s
    (reading a large process's page map takes milliseconds: sampled more often, the bench
    would take CPU from the command it times); the largest worker's resident peak goes to
    WORKER_PEAK."""
    peak = 0

    def track(_: float, rss_kib: int) -> None:
        nonlocal peak
        peak = max(peak, rss_kib)
        WORKER_PEAK["kib"] = max(WORKER_PEAK["kib"], worker_rss_kib())

    env = {**os.environ, "NEWSLAKE_NER_ENABLED": "true" if entities else "false"}
    return run_sampled(args, track, env=env, every_s=0.5, measure=tree_pss_kib), peak


def _bare_full(files: list[Path]) -> float:
    """Seconds for trafilatura.extract + language id + NER-only spaCy on the English texts."""
    import py3langid
    import spacy

    model = load_settings().entities.model_for("en") or ""
    nlp = spacy.load(
        model_location(model), exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"]
    )
    started = time.perf_counter()
    for path in files:
        text = trafilatura.extract(gzip.decompress(path.read_bytes()))
        if text and py3langid.classify(text[:1500])[0] == "en":
            nlp(text)
    return time.perf_counter() - started


_BARE_PROCESS = """
import trafilatura, spacy
nlp = spacy.load({model!r})
text = trafilatura.extract(open({page!r}, encoding="utf-8", errors="replace").read())
print(len(nlp(text or "").ents))
"""


def _bare_process(page: Path) -> float:
    """Wall seconds of a fresh Python process doing one page's work without newslake."""
    model = load_settings().entities.model_for("en") or ""
    code = _BARE_PROCESS.format(model=model_location(model), page=str(page))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def _startup(page: Path, work: Path) -> list[str]:
    """One-page ingest against the bare process, medians of three, without and with a server."""
    from newslake.flows.prefect_api import LOCAL_API, answers, local_server

    if answers(LOCAL_API):
        return ["Start-up not measured: a Prefect server is running on 127.0.0.1:4200."]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}

    def median(run: Callable[[int], float]) -> float:
        return statistics.median(run(i) for i in range(3))

    bare = median(lambda _: _bare_process(page))
    alone = median(
        lambda i: run_sampled(
            ["ingest", str(page), "--lake", str(work / f"one-{i}"), "--no-progress"],
            lambda *_: None,
            env=env,
        )
    )
    port = 4291
    with local_server(port) as api:
        served = median(
            lambda i: run_sampled(
                ["ingest", str(page), "--lake", str(work / f"served-{i}"), "--no-progress"],
                lambda *_: None,
                env=env | {"PREFECT_API_URL": api},
            )
        )
    return [
        f"Start-up, one page (the seed article), medians of 3: bare process {bare:.1f} s; "
        f"`newslake ingest` with no Prefect server running {alone:.1f} s = {alone / bare:.1f}x; "
        f"with PREFECT_API_URL set to a running server {served:.1f} s = {served / bare:.1f}x.",
    ]


def _bare(files: list[Path], **options: bool) -> float:
    """Seconds for a single-process loop: read, gunzip, trafilatura.extract."""
    started = time.perf_counter()
    for path in files:
        trafilatura.extract(gzip.decompress(path.read_bytes()), **options)
    return time.perf_counter() - started


def newslake_loop(files: list[Path], lake: Path, *, model: str | None = None) -> float:
    """Seconds for newslake's own batch work (decode, extract, entities, staging) in one process,
    with no Prefect and no worker processes: the baseline that shows the pipeline's overhead.
    `model` replaces the English pipeline (the small model, to see what the medium one costs)."""
    settings = replace(load_settings(), lake=str(lake))
    if model is not None:
        entities = replace(settings.entities, models=(("en", model),))
        settings = replace(settings, entities=entities)
    size = settings.run.batch_pages
    for _, name in settings.entities.models:  # loaded before the clock starts, as a warm worker
        load_pipeline(name)
    started = time.perf_counter()
    for number, first in enumerate(range(0, len(files), size)):
        pages = [
            RawPage(source=str(p), url=None, body=gzip.decompress(p.read_bytes()))
            for p in files[first : first + size]
        ]
        process_batch.fn(pages, [], settings=settings, run_id="bench", batch=number)
    return time.perf_counter() - started


def _fresh(work: Path, prefix: str) -> Path:
    """A new, empty folder for one run's lake: a repeated run must not find the last one's."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=work))


def _marginal(small: tuple[int, float], large: tuple[int, float]) -> float:
    return (large[0] - small[0]) / max(large[1] - small[1], 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=600, help="pages in the large run (0 = all)")
    parser.add_argument("--small", type=int, default=150, help="pages in the small run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every contender; medians are reported"
    )
    parser.add_argument(
        "--startup-only", action="store_true", help="measure only the one-page start-up"
    )
    args = parser.parse_args()
    if args.startup_only:
        work = Path(tempfile.mkdtemp(prefix="newslake-bench-"))
        print("\n".join(_startup(require("seed") / "kharkiv-offensive.html", work)))
        return
    pages = sorted(require("pages/html").glob("*.html.gz"))
    pages = pages[: args.pages] if args.pages else pages
    small_n = min(args.small, len(pages) - 1)
    work = Path(tempfile.mkdtemp(prefix="newslake-bench-"))
    sets = {}
    for name, chosen in (("small", pages[:small_n]), ("large", pages)):
        folder = work / name
        folder.mkdir()
        for path in chosen:
            shutil.copy(path, folder / path.name)
        sets[name] = (len(chosen), folder, chosen)
    env_workers = os.cpu_count() or 1
    bare_options = {
        "trafilatura.extract, defaults": {},
        "trafilatura.extract, newslake's options": {
            "favor_precision": True,
            "include_comments": False,
            "with_metadata": True,
        },
    }
    # Each contender: (label, a run over (folder, files, run name) -> (seconds, peak KiB)).
    contenders: list[tuple[str, Callable[[Path, list[Path], str], tuple[float, int]]]] = [
        (label, lambda d, f, name, o=options: (_bare(f, **o), 0))
        for label, options in bare_options.items()
    ]
    contenders += [
        (
            "trafilatura.extract + language id + spaCy NER (English), bare loop",
            lambda d, f, name: (_bare_full(f), 0),
        ),
        (
            "newslake's batch work, bare loop",
            lambda d, f, name: (newslake_loop(f, _fresh(work, f"loop-{name}")), 0),
        ),
        (
            f"newslake's batch work, bare loop, {SMALL_MODEL} (the model before)",
            lambda d, f, name: (
                newslake_loop(f, _fresh(work, f"loop-sm-{name}"), model=SMALL_MODEL),
                0,
            ),
        ),
    ]
    for workers, entities in ((1, True), (env_workers, True), (env_workers, False)):
        label = f"newslake ingest --workers {workers}" + ("" if entities else ", entities off")

        def ingest(d: Path, f: list[Path], name: str, w: int = workers,
                   e: bool = entities) -> tuple[float, int]:  # fmt: skip
            lake = _fresh(work, f"lake-{name}-{w}-{e}")
            args = ["ingest", str(d), "--lake", str(lake), "--workers", str(w), "--no-progress"]
            return _run_cli(args, entities=e)

        contenders.append((label, ingest))
    # A contender's small and large runs back to back, in alternating order from one contender
    # to the next (and from one round to the next): the machine's speed drifting over the bench
    # then moves both runs of a contender alike, where running every small run before every
    # large one (as this bench did) moved each marginal rate by a different amount. Rounds
    # repeat the whole set, so a slow minute of the machine moves one round, not one contender.
    done: dict[str, dict[str, list[tuple[float, int]]]] = {}
    for round_ in range(args.repeat):
        for turn, (label, run) in enumerate(contenders):
            for name in ("small", "large") if (turn + round_) % 2 == 0 else ("large", "small"):
                _, folder, files = sets[name]
                done.setdefault(label, {}).setdefault(name, []).append(run(folder, files, name))
    rows = {
        label: {
            name: (
                sets[name][0],
                statistics.median(seconds for seconds, _ in runs),
                max(peak for _, peak in runs),
            )
            for name, runs in by_size.items()
        }
        for label, by_size in done.items()
    }
    startup = _startup(require("seed") / "kharkiv-offensive.html", work)
    shutil.rmtree(work, ignore_errors=True)

    base = "trafilatura.extract, defaults"
    full = "trafilatura.extract + language id + spaCy NER (English), bare loop"
    own = "newslake's batch work, bare loop"
    rates = {label: _marginal(r["small"][:2], r["large"][:2]) for label, r in rows.items()}
    lines = [
        f"`python -m bench.throughput --repeat {args.repeat}` — {len(pages)} pages of "
        f"corpus/pages (large run) and {small_n} (small run), {os.cpu_count()} cores, "
        f"{'medians of ' + str(args.repeat) + ' rounds' if args.repeat > 1 else 'one round'}. "
        "Marginal rate = extra pages / extra seconds between the small and the large run, so "
        "fixed start-up is excluded. Memory: the peak proportional set size of the command's "
        "whole process tree (shared pages counted once).",
        "",
        "| contender | small run s | large run s | marginal pages/s | vs bare defaults "
        "| vs bare full (NER) | vs newslake's own loop | before steady s "
        "| peak memory (PSS) small → large (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        mem = f"{r['small'][2] / 1024:.0f} → {r['large'][2] / 1024:.0f}" if r["large"][2] else "-"
        # What the small run took beyond its pages at the steady rate: start-up and wind-down.
        before = r["small"][1] - r["small"][0] / rates[label]
        lines.append(
            f"| {label} | {r['small'][1]:.1f} | {r['large'][1]:.1f} | {rates[label]:.1f} | "
            f"{rates[label] / rates[base]:.2f}x | {rates[label] / rates[full]:.2f}x | "
            f"{rates[label] / rates[own]:.2f}x | {before:.1f} | {mem} |"
        )
    lines += [
        "",
        "The bare loop runs newslake's own batch work (decode, extract, entities, staging) in one "
        "process without Prefect: the pipeline's ratio to it is its orchestration overhead "
        "(1 worker) and its parallel speed-up (2 workers).",
        "",
        f"Largest worker process seen: {WORKER_PEAK['kib'] / 1024:.0f} MiB resident.",
        "",
        *startup,
    ]
    print("\n".join(lines))
    record("Throughput and memory (corpus/pages)", "\n".join(lines))


if __name__ == "__main__":
    main()
