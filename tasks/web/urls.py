"""URL normalisation shared by discovery and extraction, so one URL has one spelling.

courlan (trafilatura's URL library) lower-cases the host, drops fragments and tracking
parameters; a URL that is not http(s) or that courlan cannot parse has no normal form.
"""

from __future__ import annotations

from urllib.parse import urljoin

from courlan import normalize_url

__all__ = ["normalise_url"]


def normalise_url(url: str, base: str | None = None) -> str | None:
    """The normal form of `url` (resolved against `base` first), or None if there is none."""
    absolute = urljoin(base, url.strip()) if base else url.strip()
    if not absolute.lower().startswith(("http://", "https://")):
        return None
    try:
        return normalize_url(absolute, strict=True)
    except (ValueError, AttributeError):
        return None
