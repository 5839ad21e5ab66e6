"""Shared fixtures: one Prefect test harness for the run, a temporary lake, the shared corpus."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newslake.tasks.records import Article
from newslake.tasks.settings import FetchOptions

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Many commands run in this one process (CliRunner): a log handler left holding a stream an
# earlier command's runner has closed reports "--- Logging error ---" with a traceback into the
# next command's captured output, which a test of that command would take for its own crash.
# A command's errors are asserted from its output and exit code, never from handler failures.
logging.raiseExceptions = False

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
CORPUS = Path(os.environ.get("NEWSLAKE_CORPUS", ROOT.parent / "shared" / "corpus"))

# An article row as the lake tests build them by hand (test_lake, test_query).
ARTICLE = Article(
    article_id="a1",
    url="https://news.example/1",
    source="in.html",
    domain="news.example",
    title="One",
    authors=("Ann Lee",),
    published_at=datetime(2024, 3, 1, 10, tzinfo=UTC),
    language="en",
    sitename="News",
    description=None,
    categories=(),
    tags=("x",),
    image=None,
    text="Text one.",
    word_count=2,
    content_hash="h1",
    fetched_at=datetime(2024, 3, 2, tzinfo=UTC),
    extracted_at=datetime(2024, 3, 2, tzinfo=UTC),
    run_id="run1",
    extractor="t",
    extractor_version="1",
)

# The fetcher's options for tests against servers on 127.0.0.1: no pacing, short backoff.
FETCH_OPTIONS = FetchOptions(
    user_agent="newslake-test",
    per_host_delay_s=0.0,
    backoff_s=0.01,
    max_retries=2,
    timeout_s=2.0,
    total_timeout_s=5.0,
    allow_networks=("127.0.0.0/8",),
)


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    """The samples ingested once, by worker processes, for the session: the tables every run
    over the samples (by any runner, from any store, after any crash) must reproduce. Tests
    read it; none may write to it."""
    from prefect.task_runners import ProcessPoolTaskRunner

    from newslake.flows.ingest import ingest

    lake = tmp_path_factory.mktemp("samples") / "lake"
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))
    flow(inputs=[str(SAMPLES)], lake=str(lake), workers=2)
    return lake


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real, temporary Prefect API for every flow run of the session (~7 s to start, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """An empty lake directory."""
    return tmp_path / "lake"


# What "the same lake" means in the tests that compare two runs: every table's ids and contents.
LAKE_QUERIES = {
    "articles": "select article_id, content_hash, date from articles order by 1",
    "rejects": "select reject_id, stage from rejects order by 1",
    "entities": "select article_id, entity_id, mentions from entities order by 1, 2",
    "quotes": "select quote_id, speaker_name from quotes order by 1",
    "captures": "select article_id, content_hash, word_count from captures order by all",
    "versions": "select version_id, article_id from versions order by 1",
    "stories": "select article_id, story_id, similarity from stories order by 1",
}


def lake_tables(lake: Path | str) -> dict[str, list[tuple[object, ...]]]:
    """The rows of LAKE_QUERIES over a lake (a path or URL), read with DuckDB."""
    from newslake.tasks.lake.query import run_query

    return {table: run_query(lake, sql).rows() for table, sql in LAKE_QUERIES.items()}


def readme_sql(comment: str) -> str:
    """The README's SQL example that starts with `-- <comment>`, so a test runs what users copy."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"-- {comment}")
    return text[start : text.index("```", start)].strip()


def corpus(*parts: str) -> Path:
    """A path in ../shared/corpus, or skip the test when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not available: {path}")
    return path


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """The test HTTP server listens on 127.0.0.1 (the fetcher's guard must be told to allow it)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def httpserver(make_httpserver: Any) -> Any:
    """pytest-httpserver's server, answering 404 (not 500) to paths no test registered,
    as a real site answers for a missing robots.txt."""
    server = make_httpserver
    server.clear()
    server.no_handler_status_code = 404
    return server


@dataclass(frozen=True)
class S3Lake:
    """A lake URL in a fresh bucket on a local S3 API, and the server behind it."""

    url: str
    server: Any
    secret: str


@pytest.fixture
def s3_lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Lake]:
    """moto's S3 server on 127.0.0.1, credentials in the environment, an empty bucket.

    moto keeps its buckets in process-wide state, so each test gets a bucket of its own.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    secret = "newslake-test-secret"
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "newslake-test",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"news-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield S3Lake(url=f"s3://{bucket}/lake", server=server, secret=secret)
    server.stop()


def seed_article() -> Any:
    """The reference article extracted with the default settings (skips without the corpus)."""
    from newslake.tasks.records import RawPage
    from newslake.tasks.settings import load_settings
    from newslake.tasks.text.extract import article_from_html

    html = corpus("seed", "kharkiv-offensive.html").read_text()
    page = RawPage(source="seed", url=None)
    return article_from_html(page, html, options=load_settings().extract, timeout_s=0, run_id="t")


_MARK = "NEWSLAKE_TEST_MARK"


def marked_processes(marker: str) -> list[str]:
    """Command lines of the live processes whose environment carries `marker`: every process
    a marked command started, however it was started (children inherit the environment)."""
    return list(_marked(marker).values())


def _marked(marker: str) -> dict[int, str]:
    """The live processes carrying `marker`, by pid, with their command lines."""
    found = {}
    needle = f"{_MARK}={marker}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            if needle in environ.split(b"\0"):
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(proc.name)] = cmdline
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@dataclass
class Cli:
    """`newslake` as users run it: the installed console script in a subprocess, with the
    README's default environment (no PREFECT_API_URL) and a marker that finds every process it
    starts, so a test can check that none outlives the command."""

    extra: dict[str, str]
    marker: str
    # The commands' temporary folder (their TMPDIR): a command leaves nothing there, unless the
    # test says why it may (a SIGKILL leaves no process a chance to clean up).
    temp: Path
    temp_may_remain: str = ""

    @property
    def env(self) -> dict[str, str]:
        """The test's environment now (fixtures may have added credentials), without a Prefect
        API, plus the marker and the fixture's settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        return env | {"TMPDIR": str(self.temp)} | self.extra | {_MARK: self.marker}

    def command(self, *args: str, program: str = "newslake") -> list[str]:
        """The command line for `newslake ARGS` (or another of the venv's commands)."""
        return [str(Path(sys.executable).parent / program), *args]

    def __call__(
        self, *args: str, timeout: float = 600, program: str = "newslake"
    ) -> subprocess.CompletedProcess[str]:
        """Run `newslake ARGS` to completion; its output is in `.stdout` (stderr merged). A
        command still running at `timeout` is killed with its process group."""
        with self.popen(*args, program=program) as proc:
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, output)

    def popen(self, *args: str, program: str = "newslake") -> subprocess.Popen[str]:
        """Start `newslake ARGS` (or another of the venv's commands) in its own process group."""
        return subprocess.Popen(
            self.command(*args, program=program),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def survivors(self, grace_s: float = 10.0) -> list[str]:
        """Processes the commands started that are still alive after a short grace period."""
        deadline = time.monotonic() + grace_s
        while (left := marked_processes(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


def finish(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """A command's output once every process holding its output pipe is gone (bounded far above
    what it takes: durations are bench/'s); when one is still there after `timeout_s`, its
    whole process group is killed and the test fails with what it printed."""
    try:
        return proc.communicate(timeout=timeout_s)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate()[0]
        pytest.fail(f"the command's processes still ran {timeout_s:g} s on:\n{output[-2000:]}")


@pytest.fixture
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """Run `newslake` as a subprocess; fails the test if a process it started outlives it, or
    if it left something in its temporary folder."""
    home = tmp_path_factory.getbasetemp() / "prefect-home"  # shared: a warm database
    extra = {"PREFECT_HOME": str(home), "NEWSLAKE_FETCH_PER_HOST_DELAY_S": "0"}
    temp = tmp_path_factory.mktemp("cli-tmp")
    runner = Cli(extra=extra, marker=uuid.uuid4().hex, temp=temp)
    yield runner
    left = runner.survivors()
    for pid in _marked(runner.marker):  # so that they do not go on to trouble other tests
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], "processes outlived the command"
    if not runner.temp_may_remain:
        # Prefect's Runner (serve) keeps its per-service folders in one shared `runner_storage`
        # and removes its own on the way out: only the shared folder may stay.
        left_files = [p.relative_to(temp) for p in temp.rglob("*") if p.name != "runner_storage"]
        assert left_files == [], "the command left temporary files"


def lake_sources(lake: Path | str) -> tuple[list[str], list[str]]:
    """The `source` of every capture and of every reject in a lake, read with DuckDB: what the
    lake says became of each page it was given."""
    from newslake.tasks.lake.query import run_query

    captures = [r[0] for r in run_query(lake, "select source from captures").rows()]
    rejects = [r[0] for r in run_query(lake, "select source from rejects").rows()]
    return captures, rejects


def assert_accounted(lake: Path | str, inputs: set[str]) -> None:
    """Every input page (a file, `dump.jsonl:LINE`, `crawl.warc.gz#N`) is in the lake exactly
    once, as a capture or as a reject, and the lake names no page it was not given: accounting
    measured from the tables, not from the run's own counters."""
    captures, rejects = lake_sources(lake)
    found = captures + rejects
    twice = sorted({s for s in found if found.count(s) > 1})
    assert not twice, f"pages in the lake more than once: {twice[:5]}"
    missing, extra = sorted(inputs - set(found)), sorted(set(found) - inputs)
    assert not missing, f"{len(missing)} pages lost: {missing[:5]}"
    assert not extra, f"{len(extra)} pages never given: {extra[:5]}"


def warc_pages(path: Path) -> set[str]:
    """The sources of a WARC file's pages as the loader names them (`path#N`): its HTTP
    response records that are HTML or say nothing of their type, counted with warcio."""
    from warcio.archiveiterator import ArchiveIterator

    found = set()
    with path.open("rb") as fh:
        for number, record in enumerate(ArchiveIterator(fh, arc2warc=True)):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            kind = (record.http_headers.get_header("Content-Type") or "").lower()
            if not kind or "html" in kind:
                found.add(f"{path}#{number}")
    return found


def input_pages(*paths: Path) -> set[str]:
    """The sources the loader names the pages of well-formed inputs by, worked out from the
    files themselves: an HTML file is one page; a JSONL dump one page per non-blank line
    (`dump.jsonl:N`, N counting every line from 1); a WARC file its HTML responses."""
    found: set[str] = set()
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*")))]
    for path in files:
        name = path.name.removesuffix(".gz")
        if name.endswith((".html", ".htm")):
            found.add(str(path))
        elif name.endswith(".jsonl"):
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            lines = data.split(b"\n")
            found |= {f"{path}:{n}" for n, line in enumerate(lines, 1) if line.strip()}
        elif name.endswith(".warc"):
            found |= warc_pages(path)
    return found
