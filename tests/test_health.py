"""Publisher health, for real: a lake built by ingesting four outlets over twelve days, where
one changes its layout, one puts up a bot wall, one starts answering 403 (a local HTTP server),
one stays as it was, and a small one publishes a few pages of any length."""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from prefect.task_runners import ProcessPoolTaskRunner
from pytest_httpserver import HTTPServer

from newslake.flows.ingest import ingest
from newslake.tasks.lake.health import health, outlet_changes
from newslake.tasks.lake.health_plot import draw
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.store import Lake
from newslake.tasks.settings import load_settings
from newslake.tasks.text.walls import wall_reason

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

TODAY = datetime.now(UTC).date()
DAYS = [TODAY - timedelta(days=d) for d in range(12, 0, -1)]  # the twelve days before today
CHANGED = DAYS[-4]  # the layout changes and the bot wall goes up on this day
_WORDS = [
    "harbour",
    "council",
    "vote",
    "budget",
    "river",
    "bridge",
    "school",
    "mayor",
    "plan",
    "city",
    "road",
    "winter",
    "market",
    "court",
    "police",
    "report",
    "water",
    "tax",
    "housing",
    "park",
    "street",
    "station",
    "rail",
    "energy",
    "price",
    "week",
]


def _text(rng: random.Random, words: int) -> str:
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(12))
        sentences.append(sentence.capitalize() + ".")
    return "</p><p>".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def _article(rng: random.Random, title: str, day: date, words: int, *, author: bool) -> str:
    byline = '<meta name="author" content="Jane Roe">' if author else ""
    return (
        f"<html><head><title>{title}</title>{byline}"
        f'<meta property="article:published_time" content="{day}T08:00:00Z"></head>'
        f"<body><nav>Home News Sport</nav><article><h1>{title}</h1>"
        f"<p>{_text(rng, words)}</p></article><footer>Contact us</footer></body></html>"
    )


_WALL = (
    "<html><head><title>Just a moment...</title></head><body><h1>Checking your browser before "
    "accessing the site.</h1><p>This process is automatic. Please verify you are human.</p>"
    "<noscript>Please enable JavaScript and cookies to continue.</noscript></body></html>"
)


def _records(failing_host: str) -> list[dict[str, object]]:
    """Twelve days of five outlets as JSONL records (each dated by its `fetched_at`)."""
    rng = random.Random(7)
    records = []
    for day in DAYS:
        fetched = f"{day}T09:00:00Z"
        for n in range(6):
            for outlet in ("steady.example", "layout.example", "wall.example", failing_host):
                url = f"http://{outlet}/{day}/{n}.html"
                title = f"{outlet} story {n} of {day}"
                if outlet == "layout.example" and day >= CHANGED:
                    html = _article(rng, title, day, 25, author=False)  # teasers, no byline
                elif outlet == "wall.example" and day >= CHANGED:
                    html = _WALL
                else:
                    html = _article(rng, title, day, rng.randint(350, 650), author=True)
                records.append({"url": url, "html": html, "fetched_at": fetched})
        if day.toordinal() % 3 == 0:  # a small outlet: a page now and then, of any length
            for n in range(2):
                words = rng.choice([40, 90, 700])
                html = _article(rng, f"small {n} of {day}", day, words, author=n == 0)
                url = f"http://small.example/{day}/{n}.html"
                records.append({"url": url, "html": html, "fetched_at": fetched})
    return records


def _settings(lake: Path):  # Settings, spelled once in the helper's body
    settings = load_settings()
    fetch = replace(
        settings.fetch, per_host_delay_s=0.0, allow_networks=("127.0.0.0/8",), backoff_s=0.01
    )
    entities = replace(settings.entities, enabled=False)  # health reads no entity
    return replace(settings, lake=str(lake), fetch=fetch, entities=entities)


def _ingest(inputs: list[str], lake: Path):  # RunSummary
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=1))
    return flow(inputs=inputs, settings=_settings(lake), workers=1)


@pytest.fixture(scope="module")
def outlets(tmp_path_factory: pytest.TempPathFactory, make_httpserver: HTTPServer):
    """The lake after two runs: the twelve days from a JSONL dump, then today's fetches of the
    local server's outlet, which answers 403 to every one of them."""
    httpserver = make_httpserver
    httpserver.clear()
    httpserver.no_handler_status_code = 404  # a missing robots.txt, as a real site answers
    root = tmp_path_factory.mktemp("health")
    lake = root / "lake"
    dump = root / "days.jsonl"
    host = "127.0.0.1"
    with dump.open("w") as out:
        for record in _records(f"{host}:{httpserver.port}"):
            out.write(json.dumps(record) + "\n")
    first = _ingest([str(dump)], lake)
    for n in range(6):
        httpserver.expect_request(f"/today/{n}.html").respond_with_data("Forbidden", status=403)
    urls = root / "today.txt"
    urls.write_text("".join(httpserver.url_for(f"/today/{n}.html") + "\n" for n in range(6)))
    second = _ingest([str(urls)], lake)
    return lake, first, second


def _verdicts(lake: Path) -> dict[str, object]:
    verdicts, _ = health(lake, load_settings().health, days=7)
    return {v.domain: v for v in verdicts}


def test_each_outlet_gets_its_status_since_and_reason(outlets) -> None:
    lake, _, _ = outlets
    found = _verdicts(lake)
    steady, layout, wall = found["steady.example"], found["layout.example"], found["wall.example"]
    failing = found["127.0.0.1"]
    # New for its first four days (18 pages of history, 20 needed), ok from the fifth.
    assert (steady.status, steady.since) == ("ok", DAYS[4])
    words, usual = re.fullmatch(
        rf"median words (\d+) against its usual (\d+) since {DAYS[4]}", steady.reason
    ).groups()
    assert 350 < int(words) < 2 * int(usual)
    assert (layout.status, layout.since) == ("drift", CHANGED)
    before, after = re.fullmatch(
        rf"median words fell from (\d+) to (\d+) since {CHANGED}", layout.reason
    ).groups()
    assert int(before) > 350
    assert int(after) < 60
    assert (wall.status, wall.since) == ("failing", CHANGED)
    assert wall.reason == f"bot wall: 24 of 24 pages are walls, not articles since {CHANGED}"
    assert (failing.status, failing.since) == ("failing", TODAY)
    assert failing.reason == f"403 on 6 of 6 fetches since {TODAY}"
    assert found["small.example"].status in {"ok", "new"}  # a handful of pages: no alarm


def test_bot_walls_are_rejects_with_their_own_reason(outlets) -> None:
    lake, _, _ = outlets
    rows = run_query(
        lake,
        "select error, reason from rejects where url like 'http://wall.example/%' "
        "group by all order by all",
    ).rows()
    assert [error for error, _ in rows] == ["BlockedPageError"]
    assert rows[0][1].startswith("bot wall: the page says 'checking your browser'")
    articles = run_query(
        lake, "select count(*) from articles where domain = 'wall.example' and word_count < 50"
    ).item()
    assert articles == 0


def test_runs_name_the_outlets_whose_status_changed(outlets, cli) -> None:
    lake, first, second = outlets
    assert {o["domain"]: o["status"] for o in first.outlets} == {
        "layout.example": "drift",
        "wall.example": "failing",
    }
    assert second.outlets == [
        {
            "domain": "127.0.0.1",
            "before": "ok",
            "status": "failing",
            "since": TODAY.isoformat(),
            "reason": f"403 on 6 of 6 fetches since {TODAY}",
        }
    ]
    logged = run_query(lake, "select message, outlets_changed from runs order by started_at")
    message, changed = logged.rows()[-1]
    assert "127.0.0.1: ok -> failing" in message
    assert json.loads(changed) == second.outlets
    shown = cli("runs", "--lake", str(lake))
    assert "127.0.0.1: ok -> failing" in shown.stdout


def test_health_command_reports_and_fails_only_when_asked(outlets, cli, tmp_path) -> None:
    lake, _, _ = outlets
    listed = cli("health", "--lake", str(lake), "-f", "json")
    assert listed.returncode == 0, listed.stdout
    rows = {r["domain"]: r for r in json.loads(listed.stdout)}
    assert rows["layout.example"]["status"] == "drift"
    assert rows["steady.example"]["status"] == "ok"
    one = cli("health", "--lake", str(lake), "-f", "csv", "--domain", "wall.example")
    assert one.stdout.splitlines()[0].startswith("domain,status,since,reason")
    assert len(one.stdout.splitlines()) == 2
    strict = cli("health", "--lake", str(lake), "--fail-on", "drift,failing")
    assert strict.returncode == 1
    plot = tmp_path / "health.png"
    drawn = cli("health", "--lake", str(lake), "--plot", str(plot))
    assert drawn.returncode == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 20_000
    publishers = run_query(
        lake, "select sum(fetch_403), sum(bot_walls) from publishers where domain <> 'x'"
    ).rows()
    assert publishers == [(6, 24)]


def test_health_on_a_missing_or_empty_lake_says_so_like_query(cli, tmp_path) -> None:
    missing = tmp_path / "nowhere"
    for command in (("health",), ("query", "select 1")):
        result = cli(*command, "--lake", str(missing))
        assert result.returncode == 1
        # (rich wraps the message at the terminal's width, inside the path if need be)
        assert f"thereisnolakeat'{missing}'" in "".join(result.stdout.split())
    empty = tmp_path / "empty"
    empty.mkdir()
    # A lake with nothing in it yet: query answers 0 rows, health no outlet, both exit 0.
    result = cli("health", "--lake", str(empty), "-f", "json")
    query = cli("query", "select count(*) as n from articles", "--lake", str(empty), "-f", "csv")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
    assert (query.returncode, query.stdout) == (0, "n\n0\n")


def test_wall_pages_are_told_from_articles() -> None:
    assert wall_reason(_WALL, "Checking your browser before accessing the site.", 8)
    consent = "<html><body><p>We value your privacy. Accept all cookies?</p></body></html>"
    assert wall_reason(consent, "We value your privacy. Accept all cookies?", 7).startswith(
        "consent page"
    )
    shell = "<html><body><noscript>You need to enable JavaScript to run this app.</noscript>"
    assert wall_reason(shell, None, 0).startswith("JavaScript required")
    long_piece = "An article about CAPTCHA makers. " + "The market grew. " * 60
    assert wall_reason(f"<p>{long_piece}</p>", long_piece, 185) is None


def test_health_days_and_its_default_table(outlets, cli) -> None:
    """`--days N` reports the outlets seen in the lake's last N days, as the lake's own
    `publishers` rows say; the default output is a table naming each outlet and its status."""
    lake, _, _ = outlets
    latest = run_query(lake, "select max(day) from publishers").item()
    for days in (1, 5):
        shown = cli("health", "--lake", str(lake), "--days", str(days), "-f", "json")
        assert shown.returncode == 0, shown.stdout
        since = latest - timedelta(days=days)
        expected = run_query(
            lake,
            f"select distinct domain from publishers where domain <> '(none)' "
            f"and day >= date '{since}' order by 1",
        ).rows()
        assert sorted(r["domain"] for r in json.loads(shown.stdout)) == [d for (d,) in expected]
    everything = json.loads(cli("health", "--lake", str(lake), "-f", "json").stdout)
    table = cli("health", "--lake", str(lake))
    assert table.returncode == 0
    flat = "".join(table.stdout.split())
    for row in everything:
        assert row["domain"] in flat
        assert row["status"] in flat


def test_a_runs_health_step_reads_only_its_own_days(outlets, tmp_path, monkeypatch) -> None:
    """The commit-time health step reads the partitions of the run's days and nothing else,
    however many days the lake spans (on an object store, what a run pays for in requests)."""
    lake = tmp_path / "lake"
    shutil.copytree(outlets[0], lake)
    read: list[str] = []
    real_read = Lake.read

    def recording(self, paths, *args, **kwargs):
        read.extend(paths)
        return real_read(self, paths, *args, **kwargs)

    monkeypatch.setattr(Lake, "read", recording)
    day = DAYS[5]
    changes = outlet_changes(
        Lake.of(lake), load_settings().health, ["steady.example", "layout.example"], [day]
    )
    assert changes == []  # both outlets judged as they were: the stored status is unchanged
    table_files = [p for p in read if "/_health/" not in p]
    assert {Lake.day_of(p) for p in table_files} == {day}
    assert {p.split("/lake/", 1)[1].split("/", 1)[0] for p in table_files} >= {"captures"}
    # The day's rows recomputed from that day alone are the rows the runs stored for it.
    before = pl.read_parquet(outlets[0] / "_health" / "days.parquet")
    after = pl.read_parquet(lake / "_health" / "days.parquet")
    assert after.sort("domain", "day").equals(before.sort("domain", "day"))


def test_the_plot_draws_each_judged_outlet(outlets, tmp_path) -> None:
    """`--plot`'s drawing in this process (the CLI test runs it in a subprocess): a PNG with a
    row of two charts per outlet."""
    verdicts, rows = health(outlets[0], load_settings().health, days=7)
    plot = tmp_path / "health.png"
    draw(verdicts, rows, plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    height = matplotlib.image.imread(str(plot)).shape[0]
    assert height == round(2.2 * len(verdicts) * 110)  # 2.2 inches a row, at 110 dpi
