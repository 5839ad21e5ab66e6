"""Hostile input, generated: hypothesis feeds HTML, bytes, JSONL and WARC through the pipeline.

Invariants: loading never raises, every page read becomes an article or a reject (the
accounting behind pages = articles + rejects + duplicates), each page is processed within the
time limit, and memory stays bounded. Every crash found here is kept below as a named test.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefect.task_runners import ThreadPoolTaskRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newslake.flows.ingest import ingest
from newslake.tasks.pages.batch import process_page
from newslake.tasks.pages.load import iter_pages
from newslake.tasks.records import Article, RawPage, Reject
from newslake.tasks.settings import load_settings
from tests.conftest import SAMPLES, lake_sources

SETTINGS = replace(
    load_settings(),
    limits=replace(load_settings().limits, max_page_bytes=200_000, extract_timeout_s=5),
)
SEED_PAGES = [gzip.decompress(p.read_bytes()) for p in sorted((SAMPLES / "html").glob("*.gz"))]
TAGS = ["p", "div", "article", "span", "script", "style", "table", "td", "a", "h1", "meta", "br"]

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=200)


@st.composite
def html_documents(draw: st.DrawFn, depth: int = 0) -> str:
    """Tag soup: random nesting, attributes, unclosed tags, entities, scripts, charsets."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        tag = draw(st.sampled_from(TAGS))
        attrs = draw(
            st.sampled_from(
                [
                    "",
                    ' class="x"',
                    ' charset="koi8-r"',
                    ' itemprop="articleBody"',
                    ' content="2021-13-45"',
                    ' property="article:published_time"',
                ]
            )
        )
        inner = draw(html_documents(depth + 1)) if depth < 3 and draw(st.booleans()) else draw(text)
        close = draw(st.sampled_from([f"</{tag}>", "", "</wrong>"]))
        parts.append(f"<{tag}{attrs}>{inner}{close}")
    return "".join(parts)


@st.composite
def mutated_pages(draw: st.DrawFn) -> bytes:
    """A real sample page, cut, spliced with junk, or with bytes flipped."""
    page = bytearray(draw(st.sampled_from(SEED_PAGES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(len(page) - 1, 0)))
        op = draw(st.sampled_from(["flip", "cut", "junk", "nul"]))
        if op == "flip" and page:
            page[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            page = page[:at]
        elif op == "junk":
            page[at:at] = draw(st.binary(max_size=64))
        else:
            page[at:at] = b"\x00" * draw(st.integers(1, 16))
    return bytes(page)


page_bytes = st.one_of(
    html_documents().map(lambda s: f"<html><body>{s}</body></html>".encode()),
    html_documents().map(lambda s: s.encode("utf-16")),
    mutated_pages(),
    st.binary(max_size=4000),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10,
)


@st.composite
def jsonl_lines(draw: st.DrawFn) -> bytes:
    """JSONL with well-formed records, wrong types, missing fields and broken lines."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["html", "text", "wrong", "junk"]))
        if kind == "html":
            record = {"url": draw(text), "html": draw(page_bytes).decode("utf-8", "replace")}
            record |= draw(
                st.dictionaries(
                    st.sampled_from(["fetched_at", "status", "headers"]), json_values, max_size=3
                )
            )
            lines.append(json.dumps(record).encode())
        elif kind == "text":
            record = {
                "url": draw(text),
                "text": draw(text),
                "title": draw(json_values),
                "published_at": draw(json_values),
                "authors": draw(json_values),
            }
            lines.append(json.dumps(record).encode())
        elif kind == "wrong":
            lines.append(json.dumps(draw(json_values)).encode())
        else:
            lines.append(draw(st.binary(max_size=200)).replace(b"\n", b" "))
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))


@dataclass(frozen=True)
class WarcSpec:
    """What a generated WARC file holds. The bytes are built in the test, not the strategy:
    warcio spools large records to temporary files, whose names come from `random`, which
    hypothesis forbids inside strategies."""

    gzip: bool
    records: tuple[tuple[bytes, str, str, str], ...]  # body, content type, status, URI
    cut: float | None  # keep this fraction of the bytes
    flip: float | None  # invert the byte at this fraction of the length


@st.composite
def warc_archives(draw: st.DrawFn) -> WarcSpec:
    """WARC files with odd headers, statuses and payloads, possibly cut short or corrupted."""
    types = [
        "text/html",
        "text/html; charset=latin-1",
        "application/pdf",
        "",
        "text/html; charset=bogus",
    ]
    statuses = ["200 OK", "404 Not Found", "302 Found", "999 Odd"]
    uris = ["https://news.example/a", "", "not a url", "https://news.example/ä?x=<>"]
    records = draw(
        st.lists(
            st.tuples(
                page_bytes, st.sampled_from(types), st.sampled_from(statuses), st.sampled_from(uris)
            ),
            max_size=4,
        )
    )
    fraction = st.none() | st.floats(0, 1)
    return WarcSpec(draw(st.booleans()), tuple(records), draw(fraction), draw(fraction))


def warc_bytes(spec: WarcSpec) -> bytes:
    """The WARC file a spec describes."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=spec.gzip)
    for body, content_type, status, uri in spec.records:
        headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        fixed = {"WARC-Record-ID": "<urn:uuid:0-0>", "WARC-Date": "2022-09-01T00:00:00Z"}
        record = writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict=fixed
        )
        writer.write_record(record)
    data = bytearray(out.getvalue())
    if data and spec.cut is not None:
        data = data[: int(len(data) * spec.cut)]
    if data and spec.flip is not None:
        data[min(int(len(data) * spec.flip), len(data) - 1)] ^= 0xFF
    return bytes(data)


def _accounted(path: Path) -> int:
    """Load one file and process each page; return the number of items. (How long a page
    takes is measured in bench/, not asserted here; the time limit itself is tested in
    test_extract.py.)"""
    items = list(iter_pages([path], SETTINGS.limits))
    for item in items:
        assert isinstance(item, RawPage | Reject)
        if isinstance(item, RawPage):
            outcome = process_page(item, SETTINGS, "fuzz")
            assert isinstance(outcome, Article | Reject)
            if isinstance(outcome, Reject):
                assert outcome.reason
    return len(items)


# Hypothesis warns when the global `random` state moves while it draws an example. Nothing here
# draws from `random`, but background threads of the session's Prefect server (jittered service
# loops) do, so the warning would fail an example at random.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)

# NEWSLAKE_FUZZ_EXAMPLES raises the count for a long hunt; the suite's default keeps it quick.
FUZZ = settings(
    max_examples=int(os.environ.get("NEWSLAKE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=page_bytes)
def test_html_files_never_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(body)
    assert _accounted(path) == 1  # one file, one page: an article or a reject


@FUZZ
@given(data=jsonl_lines(), compress=st.booleans())
def test_jsonl_files_never_crash(tmp_path: Path, data: bytes, compress: bool) -> None:
    path = tmp_path / ("dump.jsonl.gz" if compress else "dump.jsonl")
    path.write_bytes(gzip.compress(data) if compress else data)
    assert _accounted(path) == sum(1 for line in data.split(b"\n") if line.strip())


@FUZZ
@given(data=warc_archives())
def test_warc_files_never_crash(tmp_path: Path, data: WarcSpec) -> None:
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(warc_bytes(data))
    _accounted(path)


def test_memory_stays_bounded_over_many_hostile_pages(tmp_path: Path) -> None:
    """1,000 mutated pages through load and process: the process grows by well under 1 GiB."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for k in range(1000):
        page = SEED_PAGES[k % len(SEED_PAGES)]
        cut = page[: len(page) * (k % 10 + 1) // 10] + bytes([k % 256]) * (k % 50)
        outcome = process_page(RawPage(source=f"m{k}", url=None, body=cut), SETTINGS, "fuzz")
        assert isinstance(outcome, Article | Reject)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 512


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pages=st.lists(page_bytes, min_size=1, max_size=6),
    dump=jsonl_lines(),
    archive=warc_archives(),
)
def test_whole_flow_accounts_for_every_page(
    tmp_path_factory: pytest.TempPathFactory, pages: list[bytes], dump: bytes, archive: WarcSpec
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    inputs = root / "in"
    inputs.mkdir()
    for n, body in enumerate(pages):
        (inputs / f"{n}.html").write_bytes(body)
    (inputs / "dump.jsonl").write_bytes(dump)
    (inputs / "crawl.warc.gz").write_bytes(warc_bytes(archive))
    flow = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    flow(inputs=[str(inputs)], lake=str(root / "lake"), settings=SETTINGS, workers=1)
    # Each HTML file and each non-blank dump line exactly once in the lake; the archive's pages
    # (a cut or corrupted archive has as many as the loader could read) under its own name.
    crawl = str(inputs / "crawl.warc.gz")
    given = {str(inputs / f"{n}.html") for n in range(len(pages))}
    given |= {
        f"{inputs / 'dump.jsonl'}:{n}" for n, ln in enumerate(dump.split(b"\n"), 1) if ln.strip()
    }
    captures, rejects = lake_sources(root / "lake")
    found = [s for s in captures + rejects if not s.startswith(crawl + "#")]
    assert sorted(found) == sorted(given)
