"""The sample pages' rows, pinned: a change in what newslake writes for them is a diff to accept.

Most tests compare one run with another (after a crash, on Dask, on S3), so a fault that hits
every run alike passes them all. This one compares the sample lake with rows a person read and
committed (`tests/reference/samples.json`): key columns as they are, the rest as digests. To
accept a deliberate change, rewrite the file with `python -m tests.test_reference LAKE`, read the
diff, and commit it with the change that caused it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from newslake.tasks.lake.query import run_query
from tests.conftest import SAMPLES

REFERENCE = Path(__file__).parent / "reference" / "samples.json"


def _relative(source: str) -> str:
    """A source inside data/samples, named from there (the lake's absolute paths vary)."""
    return source.split("data/samples/", 1)[-1] if "data/samples/" in source else source


def _digest(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(json.dumps(sorted(map(list, rows)), default=str).encode()).hexdigest()[
        :16
    ]


def pinned_rows(lake: Path | str) -> dict[str, Any]:
    """What the reference pins of a lake over the samples."""
    articles = run_query(
        lake,
        "select article_id, source, url, domain, title, authors, published_at, language, "
        "word_count, content_hash, wire from articles order by source",
    ).rows()
    entities = run_query(
        lake, "select article_id, name, label, mentions from entities order by all"
    ).rows()
    quotes = run_query(
        lake, "select article_id, quote, speaker_name from quotes order by all"
    ).rows()
    rejects = run_query(lake, "select source, stage, error, reason from rejects").rows()
    by_article: dict[str, dict[str, Any]] = {}
    for row in articles:
        article_id = row[0]
        mine_e = [e for e in entities if e[0] == article_id]
        mine_q = [q for q in quotes if q[0] == article_id]
        by_article[_relative(row[1])] = {
            "article_id": article_id,
            "url": row[2],
            "domain": row[3],
            "title": row[4],
            "authors": list(row[5] or []),
            "published_at": None if row[6] is None else row[6].isoformat(),
            "language": row[7],
            "word_count": row[8],
            "content_hash": row[9],
            "wire": row[10],
            "entities": len(mine_e),
            "entities_digest": _digest(mine_e),
            "quotes": len(mine_q),
            "quotes_digest": _digest(mine_q),
        }
    return {
        "articles": by_article,
        "rejects": sorted(
            [_relative(s), stage, error, reason.replace(str(SAMPLES) + "/", "")]
            for s, stage, error, reason in rejects
        ),
    }


def test_the_sample_lake_matches_the_pinned_reference(sample_lake: Path) -> None:
    expected = json.loads(REFERENCE.read_text())
    found = pinned_rows(sample_lake)
    assert sorted(found["articles"]) == sorted(expected["articles"])
    for source, row in expected["articles"].items():
        assert found["articles"][source] == row, source
    assert found["rejects"] == expected["rejects"]


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(pinned_rows(sys.argv[1]), indent=1, ensure_ascii=False) + "\n")
