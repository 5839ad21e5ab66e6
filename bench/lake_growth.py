"""What an incremental ingest costs as the lake grows: run time and storage requests.

Run: `.venv/bin/python -m bench.lake_growth [--sizes 1000,10000,100000,1000000]
[--s3-sizes 1000,10000] [--new 20,2000] [--s3-latency-ms 20]`. Needs no corpus: the articles are
made here.

1. A seed lake: 1,000 pre-extracted articles (a person's name, an organisation, a place and a
   quote each) spread over 365 days, ingested by the real `newslake ingest` (entities, quotes,
   captures, versions, stories: every table).
2. Lakes of each size, made by repeating the seed's rows with new ids (a per-copy prefix on
   every id, so the copies spread over the index's shards as real ids do) in the same 365
   daily partitions; the index is built by `newslake reindex` (the one-time upgrade a lake
   from before the index gets on its first run, timed).
3. Into each lake, `newslake ingest` of 20 new pre-extracted articles (three times, new ones
   each time; the median) and once of 2,000, all dated the lake's busiest last day. The time
   is the run's own (`seconds` in the run log): a Prefect server runs for the whole bench, so
   its start-up is not in it (the fixed cost of a run is measured by bench.throughput).
4. The same on an S3 lake (moto's server on 127.0.0.1): the requests a run makes, counted from
   the server's log (one line a request, listings included), for 365 and 1,095 partitions.
   `--s3-latency-ms` answers each request that much later: on this machine a request takes a
   millisecond or two, so only a latency like a real store's shows what waiting on requests
   one after another costs a run.

Results go to stdout as a Markdown table and to bench/lake_growth.png (time against size).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from newslake.tasks.ids import digest

NEWSLAKE = Path(sys.executable).with_name("newslake")
HERE = Path(__file__).resolve().parent
FIRST_DAY = date(2024, 1, 1)
SEED = 1_000

PEOPLE = ["Maria Lopez", "John Carter", "Aiko Tanaka", "Pierre Dubois", "Amara Okafor",
          "Lena Fischer", "Rahul Mehta", "Sofia Rossi", "Tom Becker", "Nadia Haddad"]  # fmt: skip
ORGS = ["the Harbour Council", "Northwind Bank", "the Ferry Union", "Bluewater University",
        "the Port Authority", "Greenfield Energy"]  # fmt: skip
PLACES = ["Portsmouth", "Lisbon", "Osaka", "Marseille", "Lagos", "Hamburg", "Pune", "Genoa"]
WORDS = [
    "vote", "budget", "pier", "ferry", "bridge", "harbour", "debt", "tide", "fleet", "market",
    "council", "plan", "fare", "season", "storm", "repair", "contract", "tender", "report",
    "survey", "wage", "strike", "deal",
]  # fmt: skip


def _article(n: int, day: date, tag: str) -> dict[str, str]:
    """One pre-extracted article: a name, an organisation, a place, a quote, varied words."""
    person, org = PEOPLE[n % len(PEOPLE)], ORGS[n % len(ORGS)]
    place = PLACES[n % len(PLACES)]
    rng = random.Random(f"{tag}-{n}")  # distinct texts: no article is another's copy
    words = [rng.choice(WORDS) for _ in range(90)]
    body = (
        f"{place} — {person}, who leads {org}, spoke on {day:%A} about the {words[0]} and the "
        f"{words[1]}. \u201cWe will not give up on the {words[2]} plan,\u201d {person} said. "
        + " ".join(words)
        + f". Article {tag}-{n} of the bench."
    )
    return {"url": f"https://bench-{n % 40}.example/{tag}/{n}.html", "text": body,
            "title": f"{person} on the {words[0]} ({tag} {n})",
            "published_at": f"{day.isoformat()}T09:00:00Z"}  # fmt: skip


def _jsonl(path: Path, articles: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles))
    return path


def _newslake(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(NEWSLAKE), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"newslake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _last_run_seconds(lake: str, env: dict[str, str]) -> float:
    """The run's own time, from the lake's run log (read in this process, with `env`'s store)."""
    from newslake.tasks.lake.runlog import recent_runs
    from newslake.tasks.lake.store import Lake

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        return float(recent_runs(Lake.of(lake), 1)["seconds"][0])
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Columns holding ids (a prefix per copy keeps them unique) and texts made unique by a suffix.
_IDS = {
    "articles": ["article_id", "capture_id"],
    "captures": ["capture_id", "article_id"],
    "versions": ["version_id", "article_id"],
    "stories": ["article_id", "story_id", "first_article_id", "capture_id"],
    "entities": ["article_id"],
    "quotes": ["quote_id", "article_id", "group_id"],
    "rejects": ["reject_id"],
}
_SUFFIXED = {"articles": ["url", "source"], "captures": ["url", "source"], "rejects": ["source"]}


def _repeat(seed: Path, target: Path, copies: int, spread: int) -> None:
    """A lake of `copies` copies of the seed's rows, each with its own ids, the seed's days
    mapped onto `spread` days (365: as they are; 1,095: each day's copies over three days)."""
    prefixes = pl.DataFrame(
        {"copy": list(range(copies)), "prefix": [digest(f"copy-{c}", 8) for c in range(copies)]}
    )
    for table, ids in _IDS.items():
        for folder in sorted((seed / table).glob("date=*")):
            frame = pl.read_parquet(folder / "*.parquet")
            big = frame.join(prefixes, how="cross").with_columns(
                *[(pl.col("prefix") + pl.col(c).str.slice(8)).alias(c) for c in ids],
                *[pl.col(c) + "#" + pl.col("copy").cast(pl.String)
                  for c in _SUFFIXED.get(table, [])],
            )  # fmt: skip
            day = date.fromisoformat(folder.name.split("=", 1)[1])
            stretch = spread // 365  # each seed day's copies go round `stretch` days
            big = big.with_columns((pl.col("copy") % stretch).alias("_shift"))
            for (shift,), part in big.partition_by("_shift", as_dict=True).items():
                at = FIRST_DAY + timedelta(days=(day - FIRST_DAY).days * stretch + shift)
                out = target / table / f"date={at.isoformat()}"
                out.mkdir(parents=True, exist_ok=True)
                part.drop("copy", "prefix", "_shift").write_parquet(
                    out / "part-0.parquet", compression="zstd", statistics=True
                )
    shutil.copytree(seed / "runs", target / "runs")


def _request_lines(log: Path) -> int:
    if not log.exists():
        return 0
    text = log.read_text(errors="replace")
    return len(re.findall(r'"(?:GET|PUT|HEAD|POST|DELETE) ', text))


# moto's S3 server as `moto_server` runs it, each request answered `latency` ms late: a store in
# another building (S3 answers a small GET or PUT in tens of ms) rather than on this machine.
_SLOW_MOTO = """
import sys, time
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple
app = DomainDispatcherApplication(create_backend_app)
latency = float(sys.argv[2]) / 1000
def late(environ, start_response):
    time.sleep(latency)
    return app(environ, start_response)
run_simple("127.0.0.1", int(sys.argv[1]), late, threaded=True, request_handler=MotoRequestHandler)
"""


@contextmanager
def _moto(work: Path, latency_ms: float) -> Iterator[tuple[dict[str, str], Path]]:
    """moto's S3 server on a free port, logging a line per request, answering each request
    `latency_ms` late; the environment to use."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = work / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", _SLOW_MOTO, str(port), str(latency_ms)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        deadline = time.monotonic() + 30
        while _request_lines(log) == 0 and time.monotonic() < deadline:
            subprocess.run(["curl", "-s", "-o", "/dev/null", env["AWS_ENDPOINT_URL"]], check=False)
            time.sleep(0.3)
        yield env, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _upload(local: Path, url: str, env: dict[str, str]) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]},
    )  # fmt: skip
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    fs.put(str(local) + "/", url.removeprefix("s3://"), recursive=True)


def _ingest_new(lake: str, work: Path, count: int, tag: str, env: dict[str, str]) -> None:
    """Ingest `count` new articles dated the lake's last day."""
    last = FIRST_DAY + timedelta(days=364)
    new = _jsonl(work / f"{tag}.jsonl", [_article(n, last, tag) for n in range(count)])
    _newslake("ingest", str(new), "--lake", lake, "--no-progress", env=env)


def _timed_ingest(lake: str, work: Path, count: int, tag: str, env: dict[str, str]) -> float:
    _ingest_new(lake, work, count, tag, env)
    return _last_run_seconds(lake, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--s3-sizes", default="1000,10000")
    parser.add_argument("--new", default="20,2000")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--s3-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    s3_sizes = [int(s) for s in args.s3_sizes.split(",") if s]
    small, large = (int(n) for n in args.new.split(","))
    work = args.work or Path(tempfile.mkdtemp(prefix="newslake-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "AWS_"))}
    env |= {"NEWSLAKE_RUN_WORKERS": "2"}
    from newslake.flows.prefect_api import local_server

    rows: list[dict[str, object]] = []
    with local_server(4297) as api:
        env["PREFECT_API_URL"] = api
        seed = work / "seed"
        if not (seed / "articles").exists():
            days = [FIRST_DAY + timedelta(days=n * 365 // SEED) for n in range(SEED)]
            inputs = _jsonl(
                work / "seed.jsonl", [_article(n, d, "seed") for n, d in enumerate(days)]
            )
            _newslake("ingest", str(inputs), "--lake", str(seed), "--no-progress", env=env)
        for size in sizes:
            lake = work / f"lake-{size}"
            shutil.rmtree(lake, ignore_errors=True)
            started = time.perf_counter()
            _repeat(seed, lake, size // SEED, 365)
            built = time.perf_counter() - started
            started = time.perf_counter()
            _newslake("reindex", "--lake", str(lake), env=env)
            indexed = time.perf_counter() - started
            twenty = [_timed_ingest(str(lake), work, small, f"s{size}-{i}", env) for i in range(3)]
            many = _timed_ingest(str(lake), work, large, f"l{size}", env)
            rows.append({"store": "local", "articles": size, "partitions": 365,
                         "build_s": built, "reindex_s": indexed,
                         f"{small}_s": statistics.median(twenty), f"{large}_s": many})  # fmt: skip
            print(rows[-1], flush=True)
            shutil.rmtree(lake)
        with _moto(work, args.s3_latency_ms) as (aws, log):
            s3_env = env | aws
            for size in s3_sizes:
                for spread in (365, 1095):
                    local = work / f"s3-{size}-{spread}"
                    shutil.rmtree(local, ignore_errors=True)
                    _repeat(seed, local, size // SEED, spread)
                    url = f"s3://growth-{size}-{spread}/lake"
                    _upload(local, url, s3_env)
                    _newslake("reindex", "--lake", url, env=s3_env)
                    counts, seconds = [], []
                    for i, count in enumerate((small, small, large)):
                        before = _request_lines(log)
                        _ingest_new(url, work, count, f"s3-{size}-{spread}-{i}", s3_env)
                        counts.append(_request_lines(log) - before)
                        seconds.append(_last_run_seconds(url, s3_env))  # not counted
                    rows.append({"store": "s3", "articles": size, "partitions": spread,
                                 "latency_ms": args.s3_latency_ms,
                                 f"{small}_s": seconds[1], f"{large}_s": seconds[2],
                                 f"{small}_requests": counts[1],
                                 f"{large}_requests": counts[2]})  # fmt: skip
                    print(rows[-1], flush=True)
                    shutil.rmtree(local)
    _report(rows, small, large)


def _report(rows: list[dict[str, object]], small: int, large: int) -> None:
    frame = pl.DataFrame(rows)
    print(frame)
    local = frame.filter(pl.col("store") == "local").sort("articles")
    if local.height:
        base = local[f"{small}_s"][0]
        print(local.with_columns((pl.col(f"{small}_s") / base).round(2).alias("vs smallest")))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for column, label in ((f"{small}_s", f"{small} new"), (f"{large}_s", f"{large} new")):
            ax.plot(local["articles"], local[column], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("articles in the lake (365 daily partitions)")
        ax.set_ylabel("run time, s (run log)")
        ax.set_ylim(bottom=0)
        ax.set_title("Incremental ingest against lake size")
        ax.legend()
        fig.tight_layout()
        fig.savefig(HERE / "lake_growth.png", dpi=110)


if __name__ == "__main__":
    main()
