"""URL normalisation shared by discovery and extraction, so one URL has one spelling.

courlan (trafilatura's URL library) lower-cases the host, drops fragments and tracking
parameters; a URL that is not http(s) or that courlan cannot parse has no normal form.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from courlan import normalize_url

__all__ = ["domain_of", "is_http_url", "normalise_url"]


def is_http_url(value: str) -> bool:
    """Whether a string is an http(s) URL: the only scheme newslake fetches or keeps."""
    return value.lower().startswith(("http://", "https://"))


def domain_of(url: str | None) -> str | None:
    """A URL's host without `www.`, lower-cased; None when it has none."""
    host = (urlsplit(url or "").hostname or "").lower()
    return host.removeprefix("www.") or None


def normalise_url(url: str, base: str | None = None) -> str | None:
    """The normal form of `url` (resolved against `base` first), or None if there is none."""
    absolute = urljoin(base, url.strip()) if base else url.strip()
    if not is_http_url(absolute):
        return None
    try:
        return normalize_url(absolute, strict=True)
    except (ValueError, AttributeError):
        return None
