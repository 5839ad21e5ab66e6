"""Crash consistency: kill a run with SIGKILL at each crash point, re-run, compare to a clean run.

Each run is the real `newslake ingest` command in its own process group; `NEWSLAKE_CRASH_AT`
(tasks/crashpoints.py) SIGKILLs the whole group — flow process and workers — at a named point.
After each crash the lake must still read cleanly (no half-written file visible), and after a
re-run it must hold exactly the rows of an uninterrupted run, with no staging or temporary file
left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newslake.tasks.lake.commit import lake_lock
from newslake.tasks.lake.index import index_mismatch
from newslake.tasks.lake.store import Lake
from tests.conftest import ROOT, SAMPLES, lake_tables

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _env(**extra: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLAKE_CRASH")}
    env |= {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "NEWSLAKE_RUN_BATCH_PAGES": "3"}
    return env | extra


def _ingest(lake: Path, **extra: str) -> subprocess.Popen[str]:
    """Start `newslake ingest data/samples` in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "newslake.flows.cli", "ingest", str(SAMPLES), "--lake", str(lake)]
        + ["--workers", "2", "--no-progress"],
        cwd=ROOT,
        env=_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _run(lake: Path, **extra: str) -> tuple[int, str]:
    proc = _ingest(lake, **extra)
    output = proc.communicate(timeout=300)[0]
    return proc.returncode, output


def _stray_files(lake: Path) -> list[str]:
    """Anything a reader or the next run should not find: temporary files, foreign files."""
    stray = []
    for path in lake.rglob("*"):
        if path.is_dir() or path.name == "_lock":
            continue
        relative = path.relative_to(lake).as_posix()
        if relative.startswith("_staging/") or not path.name.endswith(".parquet"):
            stray.append(relative)
    return stray


@pytest.fixture(scope="module")
def reference(sample_lake: Path) -> dict[str, list[tuple[object, ...]]]:
    """What an uninterrupted run over the samples leaves (the session's sample lake)."""
    return lake_tables(sample_lake)


@pytest.mark.parametrize(
    "crash_at",
    [
        "batch-staged:2",  # mid-run: a worker has staged its second batch
        "file-written:2",  # mid-write: a temporary Parquet file exists, not yet moved into place
        "partition-replaced:2",  # mid-commit: one articles partition is new, the others old
        "table-committed:1",  # between tables: articles committed, rejects and children not
        "table-committed:2",  # entities committed, quotes not
        "table-committed:3",  # every table committed, the lake's index not yet saved
    ],
)
def test_rerun_after_a_crash_equals_a_clean_run(
    reference: dict[str, list[tuple[object, ...]]], lake: Path, crash_at: str
) -> None:
    code, output = _run(lake, NEWSLAKE_CRASH_AT=crash_at)
    assert code == -signal.SIGKILL, output
    point = crash_at.split(":")[0]
    if point == "file-written":  # the kill landed mid-write: the commit's temporary file is there
        assert list((lake / "_staging" / "tmp").glob("*.parquet.tmp")), "no file mid-write"
    if point in ("partition-replaced", "table-committed"):  # mid-commit: a table has new rows
        assert list((lake / "articles").glob("*/*.parquet"))
    lake_tables(lake)  # whatever the crash left, DuckDB reads it without error
    # Temporary files of the killed run live in _staging only, never under a table's root.
    assert [f for f in _stray_files(lake) if not f.startswith("_staging/")] == []
    with lake_lock(lake):  # what the next run does first: the killed run's staging is folded
        pass
    assert index_mismatch(Lake.of(lake))[0] == 0  # into the index: it names every row
    code, output = _run(lake)
    assert code == 0, output
    assert lake_tables(lake) == reference
    assert _stray_files(lake) == []
    missing, _ = index_mismatch(Lake.of(lake))
    assert missing == 0  # the index names every row, whatever the crash interrupted


def test_a_run_finding_the_lake_locked_refuses_and_leaves_it_alone(
    reference: dict[str, list[tuple[object, ...]]], lake: Path
) -> None:
    """The overlap made certain: this test holds the lake's lock while a run starts."""
    code, output = _run(lake)
    assert code == 0, output
    with Lake.of(str(lake)).lock():
        refused, said = _run(lake)
    assert refused == 1, said
    assert "another newslake run is writing" in said
    assert lake_tables(lake) == reference
    assert _stray_files(lake) == []


def test_two_runs_at_once_serialise_or_refuse(
    reference: dict[str, list[tuple[object, ...]]], lake: Path
) -> None:
    first = _ingest(lake)
    time.sleep(1.5)
    second = _ingest(lake)
    outcomes = [(p.wait(timeout=300), p.communicate()[0]) for p in (first, second)]
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 0], [0, 1]), outcomes
    if codes == [0, 1]:
        refused = next(out for code, out in outcomes if code == 1)
        assert "another newslake run is writing" in refused
    assert lake_tables(lake) == reference
    assert _stray_files(lake) == []
