"""Turn one decoded page into an Article, or say why it holds none.

trafilatura finds the main text; newslake adds what trafilatura does not use: the element the
page itself marks as its body (`itemprop="articleBody"`), which lifts token F1 on the
scrapinghub benchmark from 0.968 to 0.976 (bench/extraction.py), and the page's structured
metadata (tasks/text/metadata.py). Each page gets a wall-clock limit so a pathological page cannot
hang its worker.
"""

from __future__ import annotations

import copy
import logging
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from types import FrameType

import trafilatura
from lxml.html import HtmlElement, fromstring
from trafilatura.settings import Document, Extractor
from trafilatura.utils import load_html

from newslake.tasks.errors import BlockedPageError, ExtractError
from newslake.tasks.ids import digest
from newslake.tasks.records import Article, PreExtracted, RawPage
from newslake.tasks.settings import ExtractOptions
from newslake.tasks.text.dates import (
    date_range,
    first_plausible,
    is_impossible,
    parse_timestamp,
    plausible_time,
)
from newslake.tasks.text.language import identify
from newslake.tasks.text.metadata import (
    PageMeta,
    bylines,
    clean_authors,
    clean_title,
    complete_metadata,
    pick_title,
    read_page_meta,
    seo_title,
)
from newslake.tasks.text.walls import wall_reason
from newslake.tasks.text.wire import wire_of
from newslake.tasks.web.urls import domain_of, is_http_url, normalise_url

__all__ = ["EXTRACTOR", "EXTRACTOR_VERSION", "article_from_html", "article_from_text"]

EXTRACTOR = "newslake+trafilatura"
EXTRACTOR_VERSION = f"{version('newslake')}+{version('trafilatura')}"
_FEED_ROOT = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<\?xml-stylesheet[^>]*>\s*)*"
    r"<(rss|feed|rdf:RDF|urlset|sitemapindex)\b",
    re.DOTALL,
)
# The body the page marks must hold at least this share of trafilatura's words to replace them;
# a smaller marked body is a teaser or a fragment, not the article.
_MARKED_BODY_SHARE = 0.9
# A feed or sitemap announces itself in its first bytes (the XML declaration and root element).
_ROOT_SNIFF = 4096
# A fast-pass text this long is kept without trafilatura's fallback comparison. Chosen on the
# development pages of corpus/pages (the smallest value at which the snippets found stop
# changing). Against always running the full pass (bench/extraction.py): token F1 the same on
# both splits; on corpus/pages snippets found 0.9126 -> 0.9116 and kept out 0.9220 -> 0.9245
# (development), both unchanged held out; a page costs 0.85x what it did.
_FAST_ENOUGH_WORDS = 150
# Pages shorter than this are too small to hide an article in layout wrappers: no second pass.
_MIN_WRAPPED_HTML = 1000

# trafilatura logs a WARNING for every page it finds too short ("discarding data"): for a batch
# pipeline that is a reject row, not a line on the user's terminal.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


# Wrapper tags that carry no text of their own: removing them flattens a page nested deeper than
# libxml2's limit of 256 levels, past which it silently drops the rest of the document.
_WRAPPERS = re.compile(r"</?(?:div|span|section|font|center|main|article|aside)\b[^>]*>", re.I)


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds`, on the main thread of a process (else no limit).

    Worker processes run pages on their main thread, where SIGALRM can interrupt lxml between
    calls; threads cannot be interrupted at all, so there the limit is not applied.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _trafilatura_options(
    options: ExtractOptions, url: str | None, *, fast: bool = False
) -> Extractor:
    return Extractor(
        fast=fast,
        output_format="python",
        precision=options.favor_precision,
        comments=options.include_comments,
        tables=options.include_tables,
        with_metadata=False,  # tasks/text/metadata.py computes it, skipping what the page declares
        url=url,
    )


def _words(text: str | None) -> int:
    return len(re.findall(r"\w+", text or ""))


def _marked_body(nodes: tuple[HtmlElement, ...]) -> HtmlElement | None:
    """A standalone copy of the largest element the page marks as its article body.

    It is copied before trafilatura runs on the page, since trafilatura prunes the tree in place.
    """
    if not nodes:
        return None
    wrapper = fromstring("<html><body><article></article></body></html>")
    wrapper[0][0].append(copy.deepcopy(max(nodes, key=lambda n: len(n.text_content()))))
    return wrapper


def _text_of(tree: HtmlElement | None, options: Extractor) -> str | None:
    doc = trafilatura.bare_extraction(tree, options=options) if tree is not None else None
    return doc.text if isinstance(doc, Document) else None


def _canonical(url: str | None) -> str | None:
    """The page's URL in normal form; one courlan cannot parse is kept as given."""
    if not url or not is_http_url(url):
        return None
    return normalise_url(url) or url


def _identity(url: str | None, text: str) -> tuple[str, str]:
    """(article_id, content_hash): the id follows the canonical URL, else the normalised text."""
    content_hash = digest(" ".join(text.split()))
    return (digest(url) if url else content_hash), content_hash


def _authors(
    meta: PageMeta, doc: Document, *, sitename: str | None, domain: str | None
) -> tuple[str, ...]:
    """Declared bylines; where the page declares only its own name, the byline found on the page
    comes first and the site's name after it (agency and desk credits are authors too)."""
    if bylines(meta.authors, sitename=sitename, domain=domain):
        return clean_authors(meta.authors)
    return clean_authors([*(doc.author or "").split(";"), *meta.authors])


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in re.split(r"[,;]", value) if v.strip()))


def _main_text(
    html: str, page: RawPage, options: ExtractOptions
) -> tuple[PageMeta, Document, str | None, datetime | None]:
    """The page's declared metadata, trafilatura's document, the chosen main text and the
    publication time (the first plausible declared one, else htmldate's within the bounds)."""
    tree = load_html(html)
    if tree is None:
        msg = "the page could not be parsed as HTML"
        raise ExtractError(msg)
    url = page.url
    meta = read_page_meta(tree)
    marked_body = _marked_body(meta.body_nodes) if options.use_marked_body else None
    published = first_plausible(meta.published, captured=page.fetched_at, options=options)
    impossible = any(is_impossible(value) for value in meta.published)
    search = None if published or impossible else date_range(page.fetched_at, options)
    doc = complete_metadata(tree, url, meta, date_range=search)
    if published is None:
        found = parse_timestamp(doc.date)
        published = plausible_time(found, captured=page.fetched_at, options=options)
    # trafilatura's fast pass skips its comparison with readability and jusText, a third of its
    # cost. That comparison rescues pages whose own extraction came out short; a long one it
    # keeps. So the fast pass decides: the marked body when it holds the article, else the fast
    # text when it is long, else the full pass on a fresh tree (trafilatura prunes the one it
    # reads).
    fast = _trafilatura_options(options, url, fast=True)
    quick = _text_of(tree, fast)
    marked = _text_of(marked_body, fast) if marked_body is not None else None
    if marked is not None and _words(marked) >= _MARKED_BODY_SHARE * _words(quick):
        return meta, doc, marked, published
    if _words(quick) >= _FAST_ENOUGH_WORDS:
        return meta, doc, quick, published
    return meta, doc, _text_of(load_html(html), _trafilatura_options(options, url)), published


def article_from_html(
    page: RawPage, html: str, *, options: ExtractOptions, timeout_s: float, run_id: str
) -> Article:
    """Extract the article from one page's HTML, or raise ExtractError saying why there is none."""
    if _FEED_ROOT.match(html[:_ROOT_SNIFF]):
        msg = "the page is an RSS/Atom feed or a sitemap (XML), not an HTML page"
        raise ExtractError(msg)
    try:
        with _time_limit(timeout_s):
            meta, doc, text, published = _main_text(html, page, options)
            if _words(text) < options.min_words and len(html) > _MIN_WRAPPED_HTML:
                flat = _WRAPPERS.sub(" ", html)
                if len(flat) < len(html):
                    meta, doc, text, published = _main_text(flat, page, options)
    except _Timeout as exc:
        msg = f"extraction took longer than the limit of {timeout_s:g} s"
        raise ExtractError(msg) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        msg = f"trafilatura failed on the page: {exc} ({type(exc).__name__})"
        raise ExtractError(msg) from exc
    words = _words(text)
    blocked = wall_reason(html, text, words)
    if blocked is not None:
        raise BlockedPageError(blocked)
    if text is None or words < options.min_words:
        msg = f"no main text found ({words} words, fewer than the minimum of {options.min_words})"
        raise ExtractError(msg)
    url = _canonical(doc.url) or _canonical(page.url)
    domain = domain_of(url) or domain_of(page.url) or doc.hostname
    sitename = meta.sitename or doc.sitename
    declared = [
        clean_title(meta.headline, sitename=sitename, domain=domain),
        clean_title(meta.og_title, sitename=sitename, domain=domain),
    ]
    title = pick_title(
        [
            (declared[0], 1.0),
            (declared[1], 1.0),
            (clean_title(meta.h1, sitename=sitename, domain=domain), 1.0),
            (clean_title(meta.html_title or doc.title, sitename=sitename, domain=domain), 0.5),
        ]
    )
    article_id, content_hash = _identity(url, text)
    authors = _authors(meta, doc, sitename=sitename, domain=domain)
    return Article(
        article_id=article_id,
        url=url or page.url,
        source=page.source,
        domain=domain,
        title=title,
        seo_title=seo_title(title, declared),
        authors=authors,
        published_at=published,
        modified_at=first_plausible(meta.modified, captured=page.fetched_at, options=options),
        wire=wire_of(text, authors),
        is_free=meta.is_free,
        body_declared=bool(meta.body_nodes),
        language=identify(text, doc.language),
        sitename=sitename,
        description=doc.description,
        categories=tuple(doc.categories or ()),
        tags=tuple(t for tag in (doc.tags or ()) for t in _split(tag)),
        image=doc.image,
        text=text,
        word_count=words,
        content_hash=content_hash,
        fetched_at=page.fetched_at,
        extracted_at=datetime.now(UTC),
        run_id=run_id,
        extractor=EXTRACTOR,
        extractor_version=EXTRACTOR_VERSION,
    )


def article_from_text(
    page: RawPage, pre: PreExtracted, *, options: ExtractOptions, run_id: str
) -> Article:
    """An article that arrived already extracted: its text is kept exactly as given (its date
    only when plausible, as a page's)."""
    url = _canonical(page.url)
    article_id, content_hash = _identity(url, pre.text)
    return Article(
        article_id=article_id,
        url=url or page.url,
        source=page.source,
        domain=domain_of(url or page.url),
        title=pre.title,
        authors=clean_authors(pre.authors),
        published_at=first_plausible([pre.published_at], captured=page.fetched_at, options=options),
        wire=wire_of(pre.text, pre.authors),
        language=pre.language or identify(pre.text, None),
        sitename=None,
        description=None,
        categories=(),
        tags=(),
        image=None,
        text=pre.text,
        word_count=_words(pre.text),
        content_hash=content_hash,
        fetched_at=page.fetched_at,
        extracted_at=datetime.now(UTC),
        run_id=run_id,
        extractor="pre-extracted",
        extractor_version=version("newslake"),
    )
