"""What to discover: `config/sources.toml` outlets, and web inputs named on the command line.

An outlet lists feeds, sitemaps, sites (whose robots.txt names their sitemaps) and plain URLs,
with optional include/exclude regular expressions over article URLs. A command-line input
that is an http(s) URL is sniffed when fetched (feed, sitemap or page); a `.txt` file is a list
of article URLs, one per line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newslake.tasks.configfiles import config_file
from newslake.tasks.errors import ConfigError, InputNotFoundError, LoadError
from newslake.tasks.records import Reject
from newslake.tasks.web.feeds import parse_url_list
from newslake.tasks.web.urls import is_http_url

__all__ = ["Outlet", "is_web_input", "load_sources", "url_list_rejects", "web_outlets"]


@dataclass(frozen=True, kw_only=True)
class Outlet:
    """One source of articles and the filters its URLs must pass."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    probe: tuple[str, ...] = ()  # URLs of unknown kind (from the command line): sniffed
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def accepts(self, url: str) -> bool:
        """Whether an article URL passes the outlet's include and exclude patterns."""
        if self.include and not any(re.search(p, url) for p in self.include):
            return False
        return not any(re.search(p, url) for p in self.exclude)


def is_web_input(item: str) -> bool:
    """An http(s) URL, or a `.txt` URL list: inputs the fetcher handles, not the file loaders."""
    return is_http_url(item) or item.lower().endswith(".txt")


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: {key} must be a list of strings"
        raise ConfigError(msg)
    return tuple(value)


def load_sources(path: Path) -> list[Outlet]:
    """Read the outlets of a sources file, checking every key and pattern.

    A relative `config/NAME` that is not there (a deployment run from an installed newslake,
    whose working folder has no config/) is the config chain's NAME (`tasks/configfiles.py`).
    """
    if not path.exists() and not path.is_absolute() and path.parent == Path("config"):
        path = config_file(path.name)
    if not path.exists():
        msg = f"sources file not found: {str(path)!r}"
        raise ConfigError(msg)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from exc
    outlets = []
    known = {"name", "feeds", "sitemaps", "sites", "urls", "include", "exclude"}
    for number, table in enumerate(data.get("outlet", []), start=1):
        where = f"{path} outlet #{number}"
        unknown = set(table) - known
        if unknown:
            msg = f"{where}: unknown key(s) {', '.join(sorted(unknown))}"
            raise ConfigError(msg)
        fields = {k: _strings(table, k, where) for k in known - {"name"}}
        for pattern in (*fields["include"], *fields["exclude"]):
            try:
                re.compile(pattern)
            except re.error as exc:
                msg = f"{where}: bad pattern {pattern!r}: {exc}"
                raise ConfigError(msg) from exc
        outlets.append(Outlet(name=str(table.get("name", f"outlet-{number}")), **fields))
    if not outlets:
        msg = f"{path} defines no [[outlet]]"
        raise ConfigError(msg)
    return outlets


def url_list_rejects(web_inputs: list[str]) -> list[Reject]:
    """A reject (stage "load") for each line of a URL list that is not an http(s) URL —
    `file:///etc/passwd`, `gopher://…`, a typo — so every line a user gave is accounted for."""
    rejects = []
    for item in web_inputs:
        if is_http_url(item):
            continue
        for number, line in enumerate(Path(item).read_text().splitlines(), start=1):
            value = line.strip()
            if not value or value.startswith("#") or parse_url_list(value):
                continue
            reason = f"line {number} is not an http(s) URL newslake can fetch: {value[:200]!r}"
            err = LoadError(reason)
            rejects.append(Reject.from_error(err, source=f"{item}:{number}", url=value[:2000]))
    return rejects


def web_outlets(web_inputs: list[str], sources: str | None) -> list[Outlet]:
    """Outlets from the sources file plus one for the URLs and URL lists on the command line."""
    outlets = load_sources(Path(sources)) if sources else []
    lists = [Path(i) for i in web_inputs if not is_http_url(i)]
    for path in lists:
        if not path.is_file():
            raise InputNotFoundError(str(path))
    listed = tuple(c.url for path in lists for c in parse_url_list(path.read_text(), str(path)))
    probe = tuple(i for i in web_inputs if is_http_url(i))
    if listed or probe:
        outlets.append(Outlet(name="command line", urls=listed, probe=probe))
    return outlets
