"""Scale-out for real: the same ingest on a Dask LocalCluster, and into an S3 bucket (moto)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from prefect.task_runners import ProcessPoolTaskRunner
from prefect_dask.task_runners import DaskTaskRunner

from newslake.flows.ingest import ingest
from newslake.tasks.lake.commit import LakeBusyError
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.runlog import recent_runs
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import SCHEMAS
from newslake.tasks.settings import load_settings
from tests.conftest import SAMPLES, Cli, S3Lake, assert_accounted, input_pages, lake_tables

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def reference(sample_lake: Path) -> dict[str, list[tuple[object, ...]]]:
    """The samples ingested by the default runner: worker processes on this machine."""
    tables = lake_tables(sample_lake)
    assert len(tables["articles"]) == 11  # pinned in tests/test_reference.py
    return tables


def test_dask_local_cluster_gives_the_same_tables(
    reference: dict[str, list[tuple[object, ...]]], lake: Path
) -> None:
    runner = DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "dashboard_address": None}
    )
    ingest.with_options(task_runner=runner)(inputs=[str(SAMPLES)], lake=str(lake), workers=2)
    assert_accounted(lake, input_pages(SAMPLES))
    assert lake_tables(lake) == reference


def test_lake_on_s3_round_trips_and_duckdb_reads_it(
    reference: dict[str, list[tuple[object, ...]]], s3_lake: S3Lake
) -> None:
    s3 = s3_lake.url
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))
    first = flow(inputs=[str(SAMPLES)], lake=s3, workers=2)
    assert lake_tables(s3) == reference  # DuckDB over the bucket, through fsspec
    again = flow(inputs=[str(SAMPLES)], lake=s3, workers=2)
    assert again.tables["articles"].unchanged == first.articles
    assert lake_tables(s3) == reference

    store = Lake.of(s3)
    keys = store.fs.find(store.root)
    tops = {key.removeprefix(store.root + "/").split("/")[0] for key in keys}
    assert tops == set(SCHEMAS) | {"runs", "_index", "_health"}  # no staging, no lock
    assert all(key.endswith(".parquet") for key in keys)
    assert recent_runs(s3)["state"].to_list() == ["completed", "completed"]

    with store.lock(), pytest.raises(LakeBusyError, match="_lock"):
        flow(inputs=[str(SAMPLES)], lake=s3, workers=2)


def test_workers_read_their_own_shards_from_s3(s3_lake: S3Lake, lake: Path) -> None:
    """WARC archives and HTML files in a bucket, named by a glob and a folder URL: each Dask
    worker opens its shard from the object store itself, and the lake equals the one built from
    the same files on disk."""
    import boto3

    bucket = s3_lake.url.split("/")[2]
    s3 = boto3.client("s3")
    for path in [*(SAMPLES / "warc").glob("*.warc.gz"), *(SAMPLES / "html").glob("*")]:
        s3.upload_file(str(path), bucket, f"crawl/{path.parent.name}/{path.name}")
    settings = replace(load_settings(), run=replace(load_settings().run, inline_pages=0))
    runner = DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "dashboard_address": None}
    )
    remote = ingest.with_options(task_runner=runner)(
        inputs=[f"s3://{bucket}/crawl/warc/*.warc.gz", f"s3://{bucket}/crawl/html"],
        lake=str(lake),
        settings=settings,
    )
    local_lake = lake.parent / "local"
    local = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))(
        inputs=[
            *(str(p) for p in sorted((SAMPLES / "warc").glob("*.warc.gz"))),
            str(SAMPLES / "html"),
        ],
        lake=str(local_lake),
        settings=settings,
    )
    assert remote.pages == local.pages
    given = input_pages(*sorted((SAMPLES / "warc").glob("*.warc.gz")), SAMPLES / "html")
    assert_accounted(local_lake, given)
    in_bucket = {g.replace(str(SAMPLES), f"s3://{bucket}/crawl", 1) for g in given}
    assert_accounted(lake, in_bucket)
    ours, theirs = lake_tables(lake), lake_tables(local_lake)
    for table in ("articles", "entities", "quotes"):
        assert ours[table] == theirs[table], table
    assert len(ours["rejects"]) == len(theirs["rejects"])
    sources = run_query(lake, "select distinct source from articles").to_series().to_list()
    assert sources
    assert all(s.startswith(f"s3://{bucket}/crawl/") for s in sources)


def test_the_cli_runs_on_the_dask_scheduler_it_is_given(
    reference: dict[str, list[tuple[object, ...]]], cli: Cli, lake: Path
) -> None:
    """`newslake ingest --runner dask --dask-address tcp://…`: the batches run on that
    scheduler's workers (its task groups show them), and the lake is the samples' reference."""
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Finished(SchedulerPlugin):  # type: ignore[misc]
        """The keys of the tasks the scheduler saw finish."""

        def __init__(self) -> None:
            self.keys: list[str] = []

        def transition(self, key: object, start: str, finish: str, *a: object, **k: object) -> None:
            if finish == "memory":
                self.keys.append(str(key))

    cli.extra |= {"NEWSLAKE_RUN_INLINE_PAGES": "0", "NEWSLAKE_RUN_BATCH_PAGES": "3"}
    finished = Finished()
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        cluster.scheduler.add_plugin(finished)
        result = cli(
            "ingest", str(SAMPLES), "--lake", str(lake), "--runner", "dask",
            "--dask-address", cluster.scheduler_address, "--no-progress",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert len(finished.keys) >= 2, finished.keys  # the shards ran on the scheduler's worker
    assert_accounted(lake, input_pages(SAMPLES))
    assert lake_tables(lake) == reference
