"""Field inputs through the real flow: whole page sets, and pages with values at their limits.

A unit test of one step never meets what a real crawl holds (a year-1 date from a publisher's
CMS, a lone surrogate in a dump, a 0-byte file): only the flow over whole page sets does. Every
page must end up as an article or a reject, and the run must complete.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newslake.tasks.lake.query import run_query
from tests.conftest import Cli, assert_accounted, corpus, warc_pages

PAGE_SETS = ("extraction/html", "pages/html", "news_metadata/html")


@pytest.mark.slow
def test_every_corpus_page_set_ingests_and_every_page_is_accounted_for(
    cli: Cli, tmp_path: Path
) -> None:
    """`newslake ingest` over every page set of the shared corpus, WARC files included, as a
    user runs it: exit 0, and each page an article or a reject, once."""
    sets = [corpus(*name.split("/")) for name in PAGE_SETS]
    warcs = corpus("warc")
    lake = tmp_path / "lake"
    result = cli("ingest", *map(str, sets), str(warcs), "--lake", str(lake), timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:]
    inputs = {str(p) for folder in sets for p in folder.iterdir()}
    for archive in sorted(warcs.glob("*.warc.gz")):
        inputs |= warc_pages(archive)
    assert_accounted(lake, inputs)
    days = run_query(lake, "select min(date), max(date) from articles").rows()[0]
    assert days[0] >= date(1800, 1, 1)
    assert days[1] <= datetime.now(UTC).date() + timedelta(days=2)
    # The USA Today network's pages declare year 1: they land undated or dated from their URL.
    network = run_query(
        lake,
        "select published_at from articles where regexp_matches(domain, "
        "'(usatoday|floridatoday|detroitnews)\\.com$')",
    ).rows()
    assert len(network) >= 3
    assert all(p is None or p.year >= 2000 for (p,) in network), network


# --- pages with values at their limits, through the real flow --------------------------------

_EDGE_DATES = [
    "0001-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31", "9999-12-31T23:59:59-05:00",
    "1900-01-01", "1970-01-01T00:00:00Z", "2100-06-01", "2023-02-30", "2019", "", "yesterday",
    "2024-13-01", "10000-01-01", "2023-05-04T10:00:00Z",
]  # fmt: skip
_WORDS = ["the", "council", "met", "on", "tuesday", "and", "voted", "for", "harbour", "plans"]


def _story(words: int, seed: int) -> str:
    return " ".join(_WORDS[(seed + i) % len(_WORDS)] for i in range(words))


_page = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["html", "jsonl-html", "jsonl-text"]),
        "published": st.sampled_from(_EDGE_DATES) | st.datetimes().map(datetime.isoformat),
        "fetched": st.sampled_from(_EDGE_DATES) | st.none(),
        "words": st.sampled_from([0, 1, 19, 20, 400, 20_000]),
        "odd": st.sampled_from(["", "\ud800", "\x00", "\ufeff", "é", "\U0001f600", "\u202e"]),
        "charset": st.sampled_from(["utf-8", "latin-1", "shift_jis", "bogus-charset", None]),
        "seed": st.integers(0, 1000),
    }
)


def _write_pages(folder: Path, pages: list[dict[str, object]]) -> set[str]:
    """The pages as HTML files and JSONL records; the sources the loader will name them by."""
    sources: set[str] = set()
    records = []
    for n, page in enumerate(pages):
        text = f"{page['odd']}{_story(int(page['words']), int(page['seed']))}{page['odd']}"
        html = (
            f"<html><head><title>Story {n}{page['odd']}</title>"
            f'<meta property="article:published_time" content="{page["published"]}">'
            f"</head><body><article><p>{text}</p></article></body></html>"
        )
        if page["kind"] == "html":
            path = folder / f"page-{n}.html"
            codec = page["charset"] or "utf-8"
            try:
                body = html.encode(codec, "surrogatepass")
            except (LookupError, UnicodeEncodeError):
                body = html.encode("utf-8", "surrogatepass")
            path.write_bytes(body)
            sources.add(str(path))
            continue
        record: dict[str, object] = {"url": f"https://edge.example/{n}"}
        if page["fetched"] is not None:
            record["fetched_at"] = page["fetched"]
        if page["kind"] == "jsonl-html":
            record["html"] = html
        else:
            record |= {"text": text, "published_at": page["published"], "title": f"T{n}"}
        records.append(record)
    if records:
        dump = folder / "dump.jsonl"
        lines = [json.dumps(r, ensure_ascii=True) for r in records]  # keeps lone surrogates
        dump.write_text("\n".join(lines) + "\n")
        sources |= {f"{dump}:{i}" for i in range(1, len(records) + 1)}
    return sources


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pages=st.lists(_page, min_size=1, max_size=25))
def test_pages_at_their_limits_never_fail_a_run(
    pages: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory, prefect_harness: None
) -> None:
    """Dates at the limits of their type, sizes from empty to huge, odd characters and wrong
    charsets: the real flow completes, every page is accounted for, and every date kept is
    plausible."""
    from newslake.flows.ingest import ingest

    folder = tmp_path_factory.mktemp("edge")
    sources = _write_pages(folder, pages)
    lake = folder / "lake"
    summary = ingest(inputs=[str(folder)], lake=str(lake), workers=1)
    assert summary.pages == len(pages)
    assert_accounted(lake, sources)
    now = datetime.now(UTC)
    for published, fetched in run_query(
        lake, "select published_at, fetched_at from articles"
    ).rows():
        assert fetched is None or datetime(1991, 1, 1, tzinfo=UTC) <= fetched <= now
        if published is not None:
            assert datetime(1800, 1, 1, tzinfo=UTC) <= published <= now + timedelta(hours=27)
            assert published.date() not in (date(1900, 1, 1), date(1970, 1, 1))
