"""The loaders: HTML files, JSONL dumps and WARC archives, and every way they can be broken."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newslake.tasks.errors import InputNotFoundError, NewslakeError
from newslake.tasks.pages.load import iter_pages, resolve_inputs
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.settings import Limits
from tests.conftest import SAMPLES, corpus

LIMITS = Limits(max_page_bytes=100_000, max_record_bytes=200_000)
HTML = b"<html><head><title>t</title></head><body><p>Hello world.</p></body></html>"


def _load(*paths: Path, limits: Limits = LIMITS) -> list[RawPage | Reject]:
    return list(iter_pages(resolve_inputs(paths), limits))


def test_directory_is_walked_recursively_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.htm").write_bytes(HTML)
    (tmp_path / "one.html.gz").write_bytes(gzip.compress(HTML))
    (tmp_path / "notes.txt").write_text("not a page")
    pages = _load(tmp_path)
    assert [Path(p.source).name for p in pages] == ["two.htm", "one.html.gz"]
    assert all(isinstance(p, RawPage) and p.body == HTML for p in pages)


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="input not found"):
        resolve_inputs([tmp_path / "nope.html"])


def test_unknown_file_type_named_explicitly_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "page.pdf").write_bytes(b"%PDF")
    with pytest.raises(NewslakeError, match="not an HTML"):
        resolve_inputs([tmp_path / "page.pdf"])


def test_corrupt_gzip_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "bad.html.gz").write_bytes(gzip.compress(HTML)[:20])
    (reject,) = _load(tmp_path / "bad.html.gz")
    assert isinstance(reject, Reject)
    assert reject.stage == "load"
    assert "cannot read" in reject.reason


def test_gzip_bomb_is_rejected_without_inflating_it(tmp_path: Path) -> None:
    (tmp_path / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" + b"A" * 50_000_000))
    (reject,) = _load(tmp_path / "bomb.html.gz")
    assert isinstance(reject, Reject)
    assert "larger than the limit" in reject.reason


def test_jsonl_html_text_and_malformed_records(tmp_path: Path) -> None:
    lines = [
        json.dumps({"url": "https://a.example/1", "html": HTML.decode(), "status": 200}),
        json.dumps({"url": "https://a.example/2", "text": "Given text.", "authors": "A. Writer"}),
        "{not json",
        json.dumps({"html": "<p>no url</p>"}),
        json.dumps(["a", "list"]),
        json.dumps({"url": "https://a.example/3"}),
        "",
    ]
    path = tmp_path / "dump.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    items = _load(path)
    assert isinstance(items[0], RawPage)
    assert items[0].body == HTML
    assert items[0].charset == "utf-8"
    assert isinstance(items[1], RawPage)
    assert items[1].pre_extracted is not None
    assert items[1].pre_extracted.text == "Given text."
    assert items[1].pre_extracted.authors == ("A. Writer",)
    reasons = [i.reason for i in items[2:] if isinstance(i, Reject)]
    assert len(reasons) == 4
    assert "malformed JSON" in reasons[0]
    assert "no 'url'" in reasons[1]
    assert "must be an object" in reasons[2]
    assert "neither" in reasons[3]
    assert items[2].source.endswith("dump.jsonl.gz:3")


def test_jsonl_line_over_the_limit_is_rejected_and_the_next_line_read(tmp_path: Path) -> None:
    big = json.dumps({"url": "https://a.example/big", "html": "x" * 300_000})
    small = json.dumps({"url": "https://a.example/ok", "html": HTML.decode()})
    path = tmp_path / "dump.jsonl"
    path.write_text(big + "\n" + small + "\n")
    first, second = _load(path)
    assert isinstance(first, Reject)
    assert "longer than the limit" in first.reason
    assert isinstance(second, RawPage)
    assert second.url == "https://a.example/ok"


def test_jsonl_truncated_gzip_keeps_the_lines_before(tmp_path: Path) -> None:
    lines = "\n".join(
        json.dumps({"url": f"https://a.example/{i}", "html": "<p>x</p>" * 200}) for i in range(50)
    )
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.jsonl.gz"
    cut = data[: len(data) // 2]
    path.write_bytes(cut)
    # What the cut file still holds whole, read with zlib rather than the code under test.
    whole_lines = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    items = _load(path)
    assert whole_lines > 0
    assert [i.url for i in items[:-1] if isinstance(i, RawPage)] == [
        f"https://a.example/{i}" for i in range(whole_lines)
    ]
    assert len(items) == whole_lines + 1
    assert isinstance(items[-1], Reject)
    assert "corrupt" in items[-1].reason


def _warc(records: list[tuple[str, int, str, bytes]]) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    for url, status, content_type, body in records:
        headers = StatusAndHeaders(
            f"{status} OK", [("Content-Type", content_type)], protocol="HTTP/1.1"
        )
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=headers
        )
        writer.write_record(record)
    return out.getvalue()


def test_warc_keeps_html_responses_with_uri_date_and_charset(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(
        _warc(
            [
                ("https://a.example/page", 200, "text/html; charset=windows-1251", HTML),
                ("https://a.example/logo.png", 200, "image/png", b"\x89PNG"),
                ("https://a.example/gone", 404, "text/html", b"<p>not found</p>"),
            ]
        )
    )
    page, gone = _load(path)
    assert isinstance(page, RawPage)
    assert page.url == "https://a.example/page"
    assert page.charset == "windows-1251"
    assert page.fetched_at is not None
    assert page.body == HTML
    assert isinstance(gone, Reject)
    assert "404" in gone.reason


def test_truncated_warc_is_a_reject_not_a_crash(tmp_path: Path) -> None:
    data = _warc(
        [
            ("https://a.example/1", 200, "text/html", HTML),
            ("https://a.example/2", 200, "text/html", HTML * 50),
        ]
    )
    path = tmp_path / "cut.warc"
    path.write_bytes(gzip.decompress(data)[:-200])
    first, second = _load(path)
    assert isinstance(first, RawPage)
    assert isinstance(second, Reject)
    assert "truncated" in second.reason


def test_garbage_after_a_warc_record_is_a_reject(tmp_path: Path) -> None:
    path = tmp_path / "junk.warc.gz"
    path.write_bytes(
        _warc([("https://a.example/1", 200, "text/html", HTML)]) + b"\x00garbage" * 100
    )
    first, second = _load(path)
    assert isinstance(first, RawPage)
    assert isinstance(second, Reject)
    assert "malformed WARC" in second.reason


def test_bundled_warc_sample() -> None:
    pages = _load(SAMPLES / "warc" / "commoncrawl-whirlwind.warc.gz")
    assert [p.url for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert b"Escopete" in pages[0].body
    assert pages[0].source.endswith("commoncrawl-whirlwind.warc.gz#2")


def test_dolma_warc_strips_bracketed_uris() -> None:
    path = corpus("warc", "dolma_sample-0001.warc.gz")
    with path.open("rb") as f:
        expected = [
            r.rec_headers.get_header("WARC-Target-URI").strip("<>")
            for r in ArchiveIterator(f)
            if r.rec_type == "response"
        ]
    pages = _load(path)
    # Every response record is a page or a reject (four are over the size limit), in order.
    assert [p.url for p in pages] == expected
    assert len(expected) == 15
    assert sum(isinstance(p, RawPage) for p in pages) == 11
    assert all(u.startswith("http") for u in expected)


def test_jsonl_fields_of_the_wrong_type_are_dropped(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: `"authors": 1` raised TypeError and stopped the file."""
    path = tmp_path / "dump.jsonl"
    record = {"url": "u", "text": "words " * 30, "authors": 1, "published_at": 5, "title": []}
    path.write_text(
        json.dumps(record) + "\n" + json.dumps({"url": "v", "text": "more " * 30}) + "\n"
    )
    first, second = list(iter_pages([path], Limits()))
    assert isinstance(first, RawPage)
    assert first.pre_extracted is not None
    assert first.pre_extracted.authors == ()
    assert first.pre_extracted.published_at is None
    assert first.pre_extracted.title is None
    assert isinstance(second, RawPage)
