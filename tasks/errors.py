"""newslake's exceptions, split by what the caller does with them.

    NewslakeError                 anything newslake raises on purpose
    ├── ConfigError               a bad setting: fix config/*.toml, the environment or the flags
    ├── InputNotFoundError        an input path that does not exist: the run stops before it starts
    └── PageError                 one page cannot become an article: it becomes a `rejects` row
        ├── FetchError            stage "fetch": refused, unreachable, HTTP error, too large
        ├── LoadError             stage "load": unreadable file, corrupt gzip, malformed record
        ├── DecodeError           stage "decode": binary data, unknown charset
        └── ExtractError          stage "extract": no main text, a feed, a timeout

A PageError never crashes a run: the flow turns it into a reject with its stage, its class name
and its message. Everything else is a bug or a fault of the machine and stops the run loudly.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BlockedPageError",
    "ConfigError",
    "DecodeError",
    "ExtractError",
    "FetchError",
    "InputNotFoundError",
    "LoadError",
    "NewslakeError",
    "PageError",
    "RobotsUnreachable",
    "Stage",
    "StorageError",
]

# "write": an article whose row could not be staged (a value no table column can hold).
Stage = Literal["load", "decode", "extract", "fetch", "write"]


class NewslakeError(Exception):
    """Base of every error newslake raises on purpose."""


class ConfigError(NewslakeError):
    """A setting has a value newslake cannot use."""


class StorageError(NewslakeError):
    """Writing or reading the lake failed (a full disk, a read-only mount, an object store down).

    A run that stops on it leaves every partition whole: committed ones hold the new rows, the
    others their old ones. Running the same command again completes the work.
    """

    def __init__(self, exc: OSError) -> None:
        self.cause = exc
        super().__init__(
            f"the lake's storage failed: {exc}. Every partition is whole (new where the commit "
            "reached it, old elsewhere); run the same command again once the storage is fixed"
        )


class InputNotFoundError(NewslakeError):
    """An input path named by the user does not exist."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"input not found: {path!r}")


class PageError(NewslakeError):
    """One page cannot become an article; the message is the reject's human-readable reason."""

    stage: Stage = "extract"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FetchError(PageError):
    """A URL could not be fetched; `transient` says whether a later run may succeed."""

    stage: Stage = "fetch"

    def __init__(
        self, reason: str, *, url: str, status: int | None = None, transient: bool = False
    ) -> None:
        self.url = url
        self.status = status
        self.transient = transient
        super().__init__(reason)


class RobotsUnreachable(FetchError):
    """The host's robots.txt could not be read, so the host is off limits (RFC 9309).

    Transient — a later run reads robots.txt again — but never retried within the run: the
    fetcher reads each host's robots.txt once per run.
    """

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(reason, url=url, transient=True)


class LoadError(PageError):
    """The page's bytes could not be read out of its container (file, gzip, JSONL, WARC)."""

    stage: Stage = "load"


class DecodeError(PageError):
    """The page's bytes are not text in any charset we can identify."""

    stage: Stage = "decode"


class ExtractError(PageError):
    """The page is text but holds no article."""

    stage: Stage = "extract"


class BlockedPageError(ExtractError):
    """The page is a bot wall, a JavaScript-required shell or a consent page, not the article:
    the publisher answered, but not with the page (`tasks/text/walls.py`)."""
