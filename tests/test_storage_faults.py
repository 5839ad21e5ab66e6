"""Storage faults: a full disk, a read-only lake, an object store that errors or is down.

The faults are injected where the lake writes (`Lake.write`), in the flow's own process: a run
on the thread runner, or the CLI whose commit runs in the flow process. After each, the lake
reads cleanly, holds whole partitions, and a re-run without the fault converges on the lake an
uninterrupted run would have written.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import boto3
import polars as pl
import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from typer.testing import CliRunner

from newslake.flows.cli import app
from newslake.flows.ingest import ingest
from newslake.tasks.lake.store import Lake
from tests.conftest import SAMPLES, S3Lake, lake_tables

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

FIRST = [str(SAMPLES / "html")]
ALL = [str(SAMPLES)]


def _run(inputs: list[str], lake: Path | str) -> object:
    flow = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    return flow(inputs=inputs, lake=str(lake), workers=2)


@pytest.fixture(scope="module")
def references(
    tmp_path_factory: pytest.TempPathFactory, sample_lake: Path
) -> dict[str, dict[str, list]]:
    """Tables after ingesting the HTML samples only, and after ingesting all samples."""
    first = tmp_path_factory.mktemp("first") / "lake"
    _run(FIRST, first)
    return {"first": lake_tables(first), "all": lake_tables(sample_lake)}


def _inject(monkeypatch: pytest.MonkeyPatch, fault: Callable[[str], OSError | None]) -> list[str]:
    """Make Lake.write raise `fault(path)` when it returns an error; returns the paths tried."""
    tried: list[str] = []
    original = Lake.write

    def write(self: Lake, frame: pl.DataFrame, path: str) -> None:
        tried.append(path)
        error = fault(path)
        if error is not None:
            raise error
        original(self, frame, path)

    monkeypatch.setattr(Lake, "write", write)
    return tried


def _committing(path: str) -> bool:
    return "/_staging/" not in path


def _twice(error: OSError, raised: list[OSError]) -> Callable[[str], OSError | None]:
    """A fault that fails the first two commit writes with `error`, counting what it raised."""

    def fault(path: str) -> OSError | None:
        if _committing(path) and len(raised) < 2:
            raised.append(error)
            return error
        return None

    return fault


def test_full_disk_during_commit_fails_loudly_and_a_rerun_converges(
    references: dict[str, dict[str, list]], lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(FIRST, lake)
    full = OSError(errno.ENOSPC, "No space left on device")
    tried = _inject(monkeypatch, lambda p: full if _committing(p) else None)
    with pytest.raises(OSError, match="No space left"):
        _run(ALL, lake)
    assert sum(_committing(p) for p in tried) >= 3  # the commit was retried before giving up
    assert lake_tables(lake) == references["first"]  # nothing half-written, nothing lost
    monkeypatch.undo()
    _run(ALL, lake)
    assert lake_tables(lake) == references["all"]


def test_a_transient_storage_error_is_retried(
    references: dict[str, dict[str, list]], lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raised: list[OSError] = []
    tried = _inject(monkeypatch, _twice(OSError(errno.EIO, "Input/output error"), raised))
    _run(ALL, lake)
    assert len(raised) == 2  # the fault happened, twice
    failed = [p for p in tried if _committing(p)][:2]
    assert all(tried.count(p) >= 2 for p in failed)  # each failed write was made again
    assert lake_tables(lake) == references["all"]


def test_read_only_lake_is_a_clear_error_from_the_cli(
    references: dict[str, dict[str, list]], lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(FIRST, lake)
    _inject(monkeypatch, lambda p: OSError(errno.EROFS, "Read-only file system", p))
    result = CliRunner().invoke(
        app, ["ingest", *ALL, "--lake", str(lake), "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 1
    assert "the lake's storage failed" in result.output
    assert "Read-only file system" in result.output
    assert "Traceback" not in result.output
    assert lake_tables(lake) == references["first"]


def test_object_store_errors_are_retried_then_converge(
    references: dict[str, dict[str, list]], s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = s3_lake.url
    raised: list[OSError] = []
    slow_down = OSError(errno.EAGAIN, "SlowDown: please reduce your request rate")
    tried = _inject(monkeypatch, _twice(slow_down, raised))
    _run(ALL, url)
    assert len(raised) == 2
    failed = [p for p in tried if _committing(p)][:2]
    assert all(tried.count(p) >= 2 for p in failed)  # each failed write was made again
    assert lake_tables(url) == references["all"]


def test_object_store_down_fails_before_touching_the_lake(s3_lake: S3Lake) -> None:
    url = s3_lake.url
    s3_lake.server.stop()
    result = CliRunner().invoke(
        app, ["ingest", *FIRST, "--lake", url, "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 1
    assert "error:" in result.output
    assert s3_lake.secret not in result.output  # credentials are never printed
    # The store comes back (moto keeps its buckets in the process): the run wrote nothing.
    from moto.server import ThreadedMotoServer

    back = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    back.start()
    try:
        host, port = back.get_host_and_port()
        bucket = url.removeprefix("s3://").split("/", 1)[0]
        listing = boto3.client("s3", endpoint_url=f"http://{host}:{port}").list_objects_v2(
            Bucket=bucket
        )
        assert listing.get("KeyCount", 0) == 0, listing.get("Contents")
    finally:
        back.stop()
