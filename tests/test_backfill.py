"""Backfill over a date range from a local site, run twice; then reprocess with no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from pytest_httpserver import HTTPServer

from newslake.flows.backfill import backfill, day_in_name
from newslake.flows.reprocess import reprocess
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.runlog import recent_runs
from newslake.tasks.pages.batch import process_batch
from newslake.tasks.pages.day import process_day
from newslake.tasks.settings import Settings, load_settings
from tests.newssite import DAYS, news_site

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _settings(lake: Path, networks: tuple[str, ...] = ("127.0.0.0/8",)) -> Settings:
    settings = load_settings()
    fetch = replace(settings.fetch, per_host_delay_s=0.0, allow_networks=networks)
    return replace(settings, lake=str(lake), fetch=fetch)


def _ids(lake: Path) -> dict[str, list[tuple[object, ...]]]:
    return {
        "articles": run_query(
            lake, "select article_id, content_hash, date from articles order by 1"
        ).rows(),
        "quotes": run_query(lake, "select quote_id from quotes order by 1").rows(),
        "entities": run_query(
            lake, "select article_id, entity_id from entities order by 1, 2"
        ).rows(),
        "rejects": run_query(lake, "select reject_id from rejects order by 1").rows(),
    }


def _story_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if "/story-" in request.path)


def test_day_in_name() -> None:
    assert day_in_name(Path("CC-NEWS-20220901123000-00042.warc.gz")) == date(2022, 9, 1)
    assert day_in_name(Path("dump-2022-09-03.jsonl")) == date(2022, 9, 3)
    assert day_in_name(Path("20221340-bad-then-2022-09-02.html")) == date(2022, 9, 2)
    assert day_in_name(Path("page.html")) is None


def test_backfill_twice_then_reprocess_offline(httpserver: HTTPServer, lake: Path) -> None:
    sitemap = news_site(httpserver).sitemap
    flow = backfill.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))
    first = flow(start=DAYS[0], end=DAYS[-1], inputs=[sitemap], settings=_settings(lake))

    assert first.failed_days == {}
    assert first.articles == 6
    partitions = sorted(p.name for p in (lake / "articles").iterdir())
    assert partitions == [f"date={d}" for d in DAYS]  # the out-of-range day is not fetched
    assert _story_requests(httpserver) == 6
    assert (
        run_query(lake, "select count(*) from quotes where speaker_name = 'Ana Ruiz'").item() == 6
    )
    before = _ids(lake)

    second = flow(start=DAYS[0], end=DAYS[-1], inputs=[sitemap], settings=_settings(lake))
    assert _story_requests(httpserver) == 6  # every page came from the raw zone
    assert second.tables["articles"].unchanged == 6
    assert _ids(lake) == before

    # Reprocess: the site is gone and the network guard refuses even loopback.
    httpserver.clear()
    offline = _settings(lake, networks=())
    stage = reprocess.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))
    again = stage(start=DAYS[1], end=DAYS[-1], settings=offline)
    assert again.pages == 4
    assert again.articles == 4
    assert sum(again.rejects.values()) == 0
    assert _ids(lake) == before
    assert httpserver.log == []

    runs = recent_runs(lake)
    assert runs["flow"].to_list() == ["reprocess", "backfill", "backfill"]
    assert runs["state"].to_list() == ["completed"] * 3
    versions = run_query(lake, "select distinct extractor_version from articles").to_series()
    assert versions.len() == 1
    assert versions[0].startswith("0.")


def test_reprocess_replaces_rows_of_an_older_extractor(httpserver: HTTPServer, lake: Path) -> None:
    sitemap = news_site(httpserver).sitemap
    runner = ProcessPoolTaskRunner(max_workers=1)
    backfill.with_options(task_runner=runner)(
        start=DAYS[0], end=DAYS[0], inputs=[sitemap], settings=_settings(lake)
    )
    # Pretend the rows were written by an older release.
    part = next((lake / "articles").glob("date=*/*.parquet"))
    old = pl.read_parquet(part, hive_partitioning=False)
    old.with_columns(pl.lit("0.0.1+old").alias("extractor_version")).write_parquet(part)

    summary = reprocess.with_options(task_runner=runner)(
        start=DAYS[0], end=DAYS[0], settings=_settings(lake, networks=())
    )
    assert summary.tables["articles"].updated == 2
    versions = run_query(lake, "select distinct extractor_version from articles").to_series()
    assert "0.0.1+old" not in versions.to_list()


class _FlakyBatches:
    """Stands in for `process_batch` where a day runs its batches (`process_in_turn`): fails the first attempt of one day,
    or every attempt of it, and counts the attempts of each day."""

    def __init__(self, day: date, *, always: bool) -> None:
        self.day, self.always = day, always
        self.attempts: dict[str, int] = {}
        self.real = process_batch

    def fn(self, pages: list, rejects: list, *, settings: Settings, run_id: str, batch: int):
        if batch == 0:
            self.attempts[run_id] = self.attempts.get(run_id, 0) + 1
        if run_id.endswith(str(self.day)) and (self.always or self.attempts[run_id] == 1):
            msg = f"worker lost while processing {self.day}"
            raise RuntimeError(msg)
        return self.real.fn(pages, rejects, settings=settings, run_id=run_id, batch=batch)


@pytest.mark.parametrize("always", [False, True])
def test_a_failed_day_is_retried_alone(
    httpserver: HTTPServer, lake: Path, monkeypatch: pytest.MonkeyPatch, always: bool
) -> None:
    flaky = _FlakyBatches(DAYS[1], always=always)
    monkeypatch.setattr("newslake.tasks.pages.batch.process_batch", flaky)
    monkeypatch.setattr(
        "newslake.flows.pipeline.process_day", process_day.with_options(retry_delay_seconds=0)
    )
    sitemap = news_site(httpserver).sitemap
    flow = backfill.with_options(task_runner=ThreadPoolTaskRunner(max_workers=3))
    summary = flow(start=DAYS[0], end=DAYS[-1], inputs=[sitemap], settings=_settings(lake))

    failing = next(run_id for run_id in flaky.attempts if run_id.endswith(str(DAYS[1])))
    assert flaky.attempts.pop(failing) >= (3 if always else 2)  # retried
    # The other days completed (Prefect runs a task at least once; a day may run again, which
    # only stages the same rows again).
    assert len(flaky.attempts) == 2
    partitions = sorted(p.name for p in (lake / "articles").iterdir())
    if always:  # the other days are in the lake; the failed one is named, not half-written
        assert list(summary.failed_days) == [DAYS[1]]
        assert partitions == [f"date={DAYS[0]}", f"date={DAYS[2]}"]
        assert recent_runs(lake)["state"].to_list() == ["failed"]
    else:
        assert summary.failed_days == {}
        assert partitions == [f"date={d}" for d in DAYS]
