"""Read raw pages from files: HTML files, JSONL dumps and WARC/ARC archives, streamed.

A file is named by a local path or an fsspec URL (`s3://bucket/crawl/CC-NEWS-….warc.gz`, globs
included), so the process that reads it — a worker, for a shard — opens it itself from the disk
or the object store. `iter_pages` yields one `RawPage` or `Reject` at a time and never holds more
than one page in memory, so a run over a million-page archive needs no more memory than a run
over ten. Every page-level problem (corrupt gzip, a decompression bomb, a malformed JSONL line or
WARC record) becomes a `Reject`; only a missing input raises, before anything is read.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal, cast

import fsspec
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from newslake.tasks.errors import InputNotFoundError, LoadError, NewslakeError
from newslake.tasks.records import PreExtracted, RawPage, Reject, valid_text
from newslake.tasks.settings import Limits
from newslake.tasks.text.dates import parse_timestamp

__all__ = ["InputKind", "input_kind", "is_url", "iter_pages", "resolve_inputs"]

InputKind = Literal["html", "jsonl", "warc"]

_SUFFIXES: dict[str, InputKind] = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".warc": "warc",
    ".arc": "warc",
}
_GZIP_ERRORS = (OSError, EOFError, zlib.error)
# Capture times outside these bounds are a wrong clock: the first web pages date from 1991.
_FIRST_CAPTURE = datetime(1991, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(days=1)


def is_url(name: str | Path) -> bool:
    """Whether an input names a file on an fsspec filesystem (`s3://…`) rather than a path."""
    return "://" in str(name)


def input_kind(name: str | Path) -> InputKind | None:
    """The loader for a file, from its name (`.gz` is looked through), or None if unsupported."""
    suffixes = [s.lower() for s in PurePosixPath(str(name)).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def _unsupported(name: str) -> NewslakeError:
    msg = f"{name!r} is not an HTML (.html/.htm), JSONL (.jsonl) or WARC file"
    return NewslakeError(msg)


def _resolve_url(url: str) -> list[str]:
    """The readable files an fsspec URL names: one file, a folder (walked), or a glob."""
    fs, path = fsspec.core.url_to_fs(url)
    if any(c in path for c in "*?["):
        found = sorted(fs.glob(path))
    elif fs.isdir(path):
        found = sorted(fs.find(path))
    elif fs.exists(path):
        if input_kind(path) is None:
            raise _unsupported(url)
        found = [path]
    else:
        raise InputNotFoundError(url)
    return [fs.unstrip_protocol(f) for f in found if input_kind(f)]


def resolve_inputs(inputs: Iterable[str | Path]) -> list[str]:
    """Expand directories (recursively, sorted) and globs into the files newslake can read.

    Raises InputNotFoundError for a path that does not exist and NewslakeError for a file named
    explicitly whose type is unknown, so that a typo fails the run before any work is done.
    """
    files: list[str] = []
    for item in inputs:
        if is_url(item):
            files.extend(_resolve_url(str(item)))
            continue
        path = Path(item)
        if path.is_dir():
            files.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file() and input_kind(p))
        elif path.is_file():
            if input_kind(path) is None:
                raise _unsupported(str(path))
            files.append(str(path))
        else:
            raise InputNotFoundError(str(path))
    return files


def _open_raw(name: str) -> IO[bytes]:
    """The file's bytes as stored, from the local disk or the object store."""
    if is_url(name):
        return cast(IO[bytes], fsspec.open(name, "rb").open())
    return Path(name).open("rb")


def _open(name: str) -> IO[bytes]:
    """The file's bytes, gunzipped when its name ends in `.gz` (closing it closes both)."""
    if not name.lower().endswith(".gz"):
        return _open_raw(name)
    if is_url(name):
        return cast(IO[bytes], fsspec.open(name, "rb", compression="gzip").open())
    return cast(IO[bytes], gzip.open(name, "rb"))


def _mtime(name: str) -> datetime:
    """When the file was last written: the fetch time of pages that carry none (now, when the
    file's time is not a plausible one: an archive unpacked with a 1980 or a future stamp)."""
    if not is_url(name):
        modified = datetime.fromtimestamp(Path(name).stat().st_mtime, tz=UTC)
    else:
        fs, path = fsspec.core.url_to_fs(name)
        modified = fs.modified(path)
        modified = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    return modified if _is_capture_time(modified) else datetime.now(UTC)


def _read_bounded(fh: IO[bytes], limit: int, what: str) -> bytes:
    """Read at most `limit` bytes; more means a page too large (or a gzip bomb) to parse."""
    data = fh.read(limit + 1)
    if len(data) > limit:
        msg = f"{what} is larger than the limit of {limit:,} bytes after decompression"
        raise LoadError(msg)
    return data


def _load_html(path: str, max_bytes: int) -> Iterator[RawPage | Reject]:
    source = path
    try:
        fetched_at = _mtime(path)
        with _open(path) as fh:
            body = _read_bounded(fh, max_bytes, "the page")
    except LoadError as exc:
        yield Reject.from_error(exc, source=source, url=None)
        return
    except _GZIP_ERRORS as exc:
        err = LoadError(f"cannot read the file: {exc} ({type(exc).__name__})")
        yield Reject.from_error(err, source=source, url=None)
        return
    yield RawPage(source=source, url=None, body=body, fetched_at=fetched_at)


def _is_capture_time(when: datetime) -> bool:
    """Whether `when` can be a capture time: after the web began and not in the future. A wrong
    clock's year 1 or 9999 would otherwise date the page's rows."""
    return _FIRST_CAPTURE <= when <= datetime.now(UTC) + _CLOCK_SKEW


def _capture_time(value: Any) -> datetime | None:
    """The capture time a container states, when it can be one (`_is_capture_time`)."""
    when = parse_timestamp(value) if isinstance(value, str) else None
    return when if when is not None and _is_capture_time(when) else None


def _not_a_page(
    status: int | None, source: str, url: str | None, fetched_at: datetime | None
) -> Reject | None:
    """The reject of an archived response that is no page (a 403, a 404, a 5xx), else None."""
    if status is None or 200 <= status < 300:
        return None
    err = LoadError(f"the archived response has HTTP status {status}, not a page")
    return Reject.from_error(err, source=source, url=url, fetched_at=fetched_at)


def _string(value: Any) -> str | None:
    """A JSON string field as valid text (see `valid_text`); any other type is None."""
    return valid_text(value) if isinstance(value, str) else None


def _jsonl_record(line: bytes, source: str, fallback: datetime) -> RawPage | Reject:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"malformed JSON: {exc}"
        raise LoadError(msg) from exc
    if not isinstance(record, dict):
        msg = f"a JSONL record must be an object, got {type(record).__name__}"
        raise LoadError(msg)
    url = _string(record.get("url"))
    if not url:
        msg = "the record has no 'url'"
        raise LoadError(msg)
    fetched_at = _capture_time(record.get("fetched_at")) or fallback
    html, text = _string(record.get("html")), _string(record.get("text"))
    if html and html.strip():
        headers = record["headers"] if isinstance(record.get("headers"), dict) else {}
        status = record.get("status") if isinstance(record.get("status"), int) else None
        if (refused := _not_a_page(status, source, url, fetched_at)) is not None:
            return refused
        return RawPage(
            source=source,
            url=url,
            body=html.encode("utf-8"),
            charset="utf-8",
            fetched_at=fetched_at,
            status=status,
            headers={valid_text(str(k)): valid_text(str(v)) for k, v in headers.items()},
        )
    if text and text.strip():
        authors = record.get("authors")
        authors = [authors] if isinstance(authors, str) else authors
        # Fields of the wrong type are dropped, not guessed at: a dump is untrusted input.
        names = [_string(a) for a in authors] if isinstance(authors, list) else []
        pre = PreExtracted(
            text=text,
            title=_string(record.get("title")),
            authors=tuple(a for a in names if a),
            published_at=_string(record.get("published_at")) or None,
            language=_string(record.get("language")),
        )
        return RawPage(source=source, url=url, fetched_at=fetched_at, pre_extracted=pre)
    msg = "the record has neither a non-empty 'html' nor a non-empty 'text'"
    raise LoadError(msg)


def _load_jsonl(path: str, max_bytes: int) -> Iterator[RawPage | Reject]:
    fallback = _mtime(path)
    lineno = 0
    try:
        with _open(path) as fh:
            while True:
                line = fh.readline(max_bytes + 1)
                if not line:
                    return
                lineno += 1
                source = f"{path}:{lineno}"
                if len(line) > max_bytes and not line.endswith(b"\n"):
                    while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                        pass
                    err = LoadError(f"the line is longer than the limit of {max_bytes:,} bytes")
                    yield Reject.from_error(err, source=source, url=None)
                    continue
                if not line.strip():
                    continue
                try:
                    yield _jsonl_record(line, source, fallback)
                except LoadError as exc:
                    yield Reject.from_error(exc, source=source, url=None)
                except Exception as exc:  # one odd record must not cost the file
                    err = LoadError(f"unexpected error reading the record: {exc!r}")
                    yield Reject.from_error(err, source=source, url=None)
    except _GZIP_ERRORS as exc:
        err = LoadError(f"the file is corrupt after line {lineno}: {exc} ({type(exc).__name__})")
        yield Reject.from_error(err, source=f"{path}:{lineno + 1}", url=None)


def _warc_page(record: Any, source: str, max_bytes: int) -> RawPage | Reject | None:
    """One WARC record as a page, or None when it is not an HTML response (not a page)."""
    if record.rec_type != "response":
        return None
    http = record.http_headers
    content_type = (http.get_header("Content-Type") if http else None) or ""
    if http is None or ("html" not in content_type.lower() and content_type):
        return None
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>") or None
    fetched_at = _capture_time(record.rec_headers.get_header("WARC-Date"))
    status = int(http.get_statuscode() or 0) or None
    if (refused := _not_a_page(status, source, url, fetched_at)) is not None:
        return refused
    try:
        body = _read_bounded(record.content_stream(), max_bytes, "the archived response")
        missing = getattr(record.raw_stream, "limit", 0)
        if missing > 0:
            msg = f"the WARC record is truncated: {missing:,} bytes of its declared length missing"
            raise LoadError(msg)
    except LoadError as exc:
        return Reject.from_error(exc, source=source, url=url, fetched_at=fetched_at)
    charset = None
    if "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'")
    return RawPage(
        source=source,
        url=url,
        body=body,
        fetched_at=fetched_at,
        charset=charset,
        status=status,
        headers=dict(http.headers),
    )


def _load_warc(path: str, max_bytes: int) -> Iterator[RawPage | Reject]:
    """Pages of a WARC/ARC file; a page's source is `path#N`, N counting records from 0.

    Records are numbered rather than located by byte offset: warcio's get_record_offset() reads
    the record to its end, which would consume the body before we read it.
    """
    number = -1
    try:
        with _open_raw(path) as fh:
            for number, record in enumerate(ArchiveIterator(fh, arc2warc=True)):
                page = _warc_page(record, f"{path}#{number}", max_bytes)
                if page is not None:
                    yield page
    except (ArchiveLoadFailed, *_GZIP_ERRORS, ValueError, AttributeError, TypeError) as exc:
        # warcio signals some malformed headers with AttributeError/TypeError (a record without
        # WARC-Target-URI, say): at this boundary they all mean "the archive is broken here".
        err = LoadError(f"malformed WARC record after record #{number}: {exc!r}")
        yield Reject.from_error(err, source=f"{path}#{number + 1}", url=None)


def iter_pages(
    files: Iterable[str | Path], limits: Limits
) -> Generator[RawPage | Reject, None, None]:
    """Stream every page of every file, in order, each as a RawPage or a Reject."""
    loaders = {"html": _load_html, "jsonl": _load_jsonl, "warc": _load_warc}
    for name in map(str, files):
        kind = input_kind(name)
        if kind is None:
            continue
        try:
            limit = limits.max_record_bytes if kind == "jsonl" else limits.max_page_bytes
            yield from loaders[kind](name, limit)
        except PermissionError as exc:
            err = LoadError(f"cannot read the file: {exc.strerror}")
            yield Reject.from_error(err, source=name, url=None)
        except FileNotFoundError as exc:  # gone since it was listed
            err = LoadError(f"the file is gone: {exc}")
            yield Reject.from_error(err, source=name, url=None)
