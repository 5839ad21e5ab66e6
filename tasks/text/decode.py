"""Bytes to text: the charset the page declares, else the one it is written in.

Order matters, most trusted first: a byte-order mark, the HTTP/WARC Content-Type charset, the
page's own `<meta charset>`, strict UTF-8, and only then statistical detection. A declared
charset that cannot decode the bytes is ignored rather than trusted into mojibake.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from charset_normalizer import from_bytes

from newslake.tasks.errors import DecodeError

__all__ = ["decode_html", "looks_binary"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# Control bytes other than tab, newline, form feed and carriage return never occur in real HTML.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_SNIFF = 8192


def looks_binary(head: bytes) -> bool:
    """True when the first bytes are mostly control characters: an image or archive, not HTML.

    NUL bytes alone are tolerated (some pages carry a few); a page is binary when more than a
    tenth of its first 8 KiB are control bytes. UTF-16 pages are caught by their BOM before this.
    """
    sample = head[:_SNIFF]
    if not sample:
        return False
    controls = sum(sample.count(bytes([b])) for b in _CONTROL)
    return controls / len(sample) > 0.10


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    label = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
    try:
        codec = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # Browsers read a declared Latin-1 as windows-1252 (WHATWG Encoding Standard); so do we.
    return "cp1252" if codec in {"latin-1", "iso8859-1", "ascii"} else codec


def _try(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect_lazily(body: bytes) -> Iterator[str]:
    """Statistical guesses, computed only if every declared charset and UTF-8 failed."""
    yield from _detect(body)


def _detect(body: bytes) -> list[str]:
    """Statistical guesses, best first, with windows-1252 promoted when it is about as plausible.

    On short Western-European text the detector cannot tell cp1252 from cp1257 or cp1250 (the
    same letters score alike); cp1252 is what undeclared pages almost always are, and what
    browsers assume, so it wins unless another charset reads clearly better (Cyrillic, Greek).
    """
    matches = list(from_bytes(body[:200_000]))
    if not matches:
        return []
    best_chaos = min(m.percent_chaos for m in matches)
    for match in matches:
        if match.encoding == "cp1252" and match.percent_chaos <= best_chaos + 10:
            return ["cp1252"]
    return [m.encoding for m in matches]


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode a page's bytes to text, or raise DecodeError saying why it is not text.

    Args:
        body: the raw page bytes, already decompressed.
        declared: the charset from the HTTP or WARC Content-Type header, if any.
    """
    if not body.strip():
        msg = "the page is empty or only whitespace"
        raise DecodeError(msg)
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _try(body, codec)
            if text is not None:
                return text.replace("\x00", "")
    if looks_binary(body):
        msg = "the page is binary data, not text (more than 10% control bytes)"
        raise DecodeError(msg)
    head = body[:_SNIFF]
    meta = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    candidates = [_codec(declared), _codec(meta.group(1) if meta else None), "utf-8"]
    for candidate in [*candidates, *_detect_lazily(body)]:
        text = _try(body, candidate)
        if text is not None:
            return text.replace("\x00", "")
    # Every page decodes as windows-1252 bar five bytes; replace those rather than lose the page.
    return body.decode("cp1252", errors="replace").replace("\x00", "")
