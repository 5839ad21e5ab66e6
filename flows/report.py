"""What a run did, for the terminal, the Prefect UI and the lake's run log.

Every flow ends by publishing its `RunSummary`: a table artifact (per domain: pages, articles,
rejects, entities, quotes) and a markdown summary on the flow run, so the Prefect UI shows what
each run did, and one row in the lake's run log (`newslake runs`).

The lake's run log is the record that counts: it is written whether or not Prefect answers. A
Prefect API that has gone away by the end of a run costs its artifacts, which the summary and
the run log then say (`unreported`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from newslake.tasks.lake.commit import CommitStats
from newslake.tasks.lake.runlog import record_run
from newslake.tasks.lake.store import Lake
from newslake.tasks.pages.batch import BatchResult
from newslake.tasks.web.pages import WebStats

__all__ = ["RunSummary", "last_published", "publish"]

_MEASURES = ("pages", "articles", "rejects", "entities", "quotes")


@dataclass(kw_only=True)
class RunSummary:
    """What one run did: the page accounting users check (pages = captures + rejects + pages
    rejected twice in the run); several captures may make one article."""

    run_id: str
    lake: str
    flow: str = "ingest"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pages: int = 0
    captures: int = 0
    articles: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    tables: dict[str, CommitStats] = field(default_factory=dict)
    domains: Counter[str] = field(default_factory=Counter)
    by_domain: Counter[tuple[str, str]] = field(default_factory=Counter)
    words: int = 0
    seconds: float = 0.0
    web: WebStats = field(default_factory=WebStats)
    entities: int = 0
    quotes: int = 0
    no_model: Counter[str] = field(default_factory=Counter)
    failed_days: dict[date, str] = field(default_factory=dict)
    # Why a run had nothing to do ("the range holds no rows"): a normal outcome, said plainly.
    note: str | None = None
    # Outlets whose health status this run changed: domain, before, status, since, reason.
    outlets: list[dict[str, Any]] = field(default_factory=list)
    # Set when the run committed but its Prefect API could not be told ("… unreachable: …").
    unreported: str = ""

    def outlet_lines(self) -> list[str]:
        """One line per outlet whose status changed: `a.com: ok -> failing since … (why)`."""
        return [
            f"{o['domain']}: {o['before'] or 'unseen'} -> {o['status']} since {o['since']} "
            f"({o['reason']})"
            for o in self.outlets
        ]

    @property
    def rejected(self) -> int:
        """Distinct pages that produced no article, over all stages."""
        stats = self.tables.get("rejects", CommitStats())
        return sum(self.rejects.values()) - stats.duplicates

    def absorb(self, totals: BatchResult, tables: dict[str, CommitStats]) -> None:
        """Take the batches' counts and the commit's statistics into the summary."""
        self.tables = tables
        articles = tables.get("articles", CommitStats())
        rejects = tables.get("rejects", CommitStats())
        self.pages = totals.pages
        self.captures = totals.articles
        self.articles = articles.new + articles.updated + articles.unchanged
        self.rejects = totals.rejects
        self.duplicates = rejects.duplicates
        self.domains = totals.domains
        self.by_domain = totals.by_domain
        self.words = totals.words
        self.entities = totals.entities
        self.quotes = totals.quotes
        self.no_model = totals.no_model

    @property
    def state(self) -> str:
        """The run's state in the run log: completed, or failed when a backfill day failed."""
        return "failed" if self.failed_days else "completed"

    def domain_rows(self) -> list[dict[str, object]]:
        """One row per domain with its counts, busiest first."""
        domains = Counter[str]()
        for (domain, measure), n in self.by_domain.items():
            if measure == "pages":
                domains[domain] += n
        return [
            {"domain": d, **{m: self.by_domain[(d, m)] for m in _MEASURES}}
            for d, _ in domains.most_common()
        ]

    def markdown(self) -> str:
        """A few lines for the Prefect UI."""
        stages = ", ".join(f"{s} {n}" for s, n in sorted(self.rejects.items())) or "none"
        lines = [
            f"# {self.flow} run `{self.run_id}`",
            f"- lake: `{self.lake}`",
            *([f"- note: {self.note}"] if self.note else []),
            f"- pages read: {self.pages}",
            f"- captures: {self.captures}, articles: {self.articles}",
            f"- rejects: {self.rejected} ({stages})",
            f"- rejected twice: {self.duplicates}",
            f"- entities: {self.entities}, quotes: {self.quotes}",
            f"- duration: {self.seconds:.1f} s",
        ]
        lines += [f"- **day {d} failed**: {why}" for d, why in sorted(self.failed_days.items())]
        lines += [f"- **outlet** {line}" for line in self.outlet_lines()]
        return "\n".join(lines) + "\n"


# The summaries this process published, newest last: a run whose Prefect API went away after
# its commit fails in Prefect's engine, not in newslake, and the CLI still reports what it did.
_PUBLISHED: list[RunSummary] = []


def last_published() -> RunSummary | None:
    """The summary of the last run this process published, if any."""
    return _PUBLISHED[-1] if _PUBLISHED else None


def _attach(summary: RunSummary) -> None:
    """The run's table and markdown artifacts on its Prefect flow run."""
    rows = summary.domain_rows()
    key = f"{summary.flow}-report"
    if rows:
        create_table_artifact(rows, key=key, description=f"{summary.flow}: per-domain counts")
    create_markdown_artifact(summary.markdown(), key=f"{key}-summary")


def publish(summary: RunSummary, lake: Lake) -> None:
    """Attach the run's report to its Prefect flow run and append it to the lake's run log."""
    try:
        _attach(summary)
    except httpx.HTTPError as exc:  # the API went away (after Prefect's own retries)
        summary.unreported = f"Prefect could not be told: {type(exc).__name__}: {exc}"
    failed = "; ".join(f"{d}: {why}" for d, why in sorted(summary.failed_days.items()))
    record_run(
        lake,
        {
            "run_id": summary.run_id,
            "flow": summary.flow,
            "state": summary.state,
            "started_at": summary.started_at,
            "seconds": summary.seconds,
            "pages": summary.pages,
            "articles": summary.articles,
            "rejects": summary.rejected,
            "duplicates": summary.duplicates,
            "captures": summary.captures,
            "entities": summary.entities,
            "quotes": summary.quotes,
            "partitions": sum(s.partitions for s in summary.tables.values()),
            "rejects_by_stage": json.dumps(dict(sorted(summary.rejects.items()))),
            "message": "; ".join(
                m
                for m in (
                    failed,
                    summary.note,
                    "; ".join(summary.outlet_lines()),
                    summary.unreported,
                )
                if m
            )
            or None,
            "outlets_changed": json.dumps(summary.outlets) if summary.outlets else None,
        },
    )
    _PUBLISHED.append(summary)
