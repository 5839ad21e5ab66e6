"""The `publishers` view: one row per outlet and capture day, from the lake's own tables.

Every page read is a capture (it gave an article) or a reject (with its stage and reason), and
every web fetch is in the raw zone with its status; grouped by outlet and day, they say how an
outlet is doing: how many pages were read and how many became articles, why the others did not
(rejects by stage, fetch outcomes, bot walls), how long its articles are (median and low-decile
word count) and how complete (the share with a title, authors, a publication date, a marked
body, a paywall flag, a wire credit), and how many are near-duplicates of another outlet's
story. `tasks/lake/health.py` judges each outlet's days against its own history.

The outlet is the lake's `domain`: the article's host without `www.` (for a reject, its URL's).
The view is computed on read by DuckDB, so it is never stale; each capture row carries what it
said of its article (domain, title, authors, date, marked body, paywall, wire) so that the days
asked for cost only those days' partitions: `publishers_from(day)` reads nothing older
(bench/health.py measures it). Captures written before those columns existed have no outlet.
"""

from __future__ import annotations

import duckdb

from newslake.tasks.lake.tables import RENDERED

__all__ = ["NO_OUTLET", "create_publishers_view"]

# The outlet of a page whose URL is unknown (a file's page rejected before its URL was read).
NO_OUTLET = "(none)"

# A reject's outlet comes from its URL (a page from a file may have none: "(none)").
_HOST = (
    "coalesce(nullif(regexp_extract(lower({url}), '^[a-z]+://(?:www\\.)?([^/:?#]+)', 1), ''), "
    "'(none)')"
)
# The HTTP status a reject names: "HTTP 403 Forbidden" (a fetch), "HTTP status 403" (an archive).
_STATUS = "try_cast(nullif(regexp_extract(reason, 'HTTP (?:status )?(\\d{3})', 1), '') AS INTEGER)"


def create_publishers_view(con: duckdb.DuckDBPyConnection, *, raw: str | None) -> None:
    """Create `publishers` (every day) and `publishers_from(day)` on a connection that has the
    lake's table views.

    `publishers_from(day)` reads only the partitions from that day on: the captures (which
    carry their outlet's figures), rejects, raw fetches and stories of those days, and the
    articles published since (for the outlet of a story's first article). `raw` is the
    read_parquet call over the raw zone, or None when the lake has none (only web fetches write
    it; it holds the 304s, which leave no capture and no reject).
    """
    # From the raw zone: 304s (no capture, no reject) and rendered captures (marked there).
    not_modified = (
        f"SELECT {_HOST.format(url='url')} AS domain, date AS day, "
        f"count(*) FILTER (WHERE status = 304) AS fetch_304, "
        f"count(*) FILTER (WHERE headers LIKE '%\"{RENDERED}\"%') AS rendered "
        f"FROM {raw} WHERE date >= start "
        f"AND (status = 304 OR headers LIKE '%\"{RENDERED}\"%') GROUP BY ALL"
        if raw
        else "SELECT NULL::VARCHAR AS domain, NULL::DATE AS day, 0::BIGINT AS fetch_304, "
        "0::BIGINT AS rendered WHERE false"
    )
    con.execute(f"""
CREATE MACRO publishers_from(start) AS TABLE
WITH cap AS (
    SELECT coalesce(c.domain, '{NO_OUTLET}') AS domain, c.date AS day, c.article_id,
           c.word_count, c.with_title, c.with_authors, c.with_date, c.body_declared,
           c.not_free, c.with_wire,
           coalesce(s.first_article_id <> c.article_id AND f.domain IS DISTINCT FROM c.domain,
                    false) AS copy
    FROM (SELECT * FROM _captures WHERE date >= start) c
    LEFT JOIN (SELECT article_id, first_article_id FROM _stories WHERE date >= start) s
        ON s.article_id = c.article_id
    LEFT JOIN (SELECT article_id, domain FROM articles WHERE date >= start) f
        ON f.article_id = s.first_article_id
),
caps AS (
    SELECT domain, day, count(DISTINCT article_id) AS articles, count(*) AS captures,
           median(word_count) AS median_words,
           quantile_cont(word_count, 0.1) AS low_decile_words,
           avg(with_title::INT) AS with_title, avg(with_authors::INT) AS with_authors,
           avg(with_date::INT) AS with_date, avg(body_declared::INT) AS with_declared_body,
           avg(not_free::INT) AS not_free, avg(with_wire::INT) AS with_wire,
           avg(copy::INT) AS copies
    FROM cap GROUP BY ALL
),
rej AS (
    SELECT {_HOST.format(url="url")} AS domain, date AS day, count(*) AS rejects,
           count(*) FILTER (WHERE stage = 'load') AS rejects_load,
           count(*) FILTER (WHERE stage = 'fetch') AS rejects_fetch,
           count(*) FILTER (WHERE stage = 'decode') AS rejects_decode,
           count(*) FILTER (WHERE stage = 'extract') AS rejects_extract,
           count(*) FILTER (WHERE error = 'BlockedPageError') AS bot_walls,
           count(*) FILTER (WHERE stage IN ('decode', 'extract')) AS fetched_fine,
           count(*) FILTER (WHERE {_STATUS} = 403) AS fetch_403,
           count(*) FILTER (WHERE {_STATUS} = 404) AS fetch_404,
           count(*) FILTER (WHERE {_STATUS} = 429) AS fetch_429,
           count(*) FILTER (WHERE {_STATUS} >= 500) AS fetch_5xx,
           count(*) FILTER (WHERE reason LIKE '%robots.txt%') AS fetch_robots,
           count(*) FILTER (WHERE reason LIKE '%larger than the limit%') AS fetch_too_large,
           count(*) FILTER (WHERE reason LIKE 'not an HTML page%') AS fetch_not_html
    FROM rejects WHERE date >= start GROUP BY ALL
),
nm AS ({not_modified}),
keys AS (SELECT domain, day FROM caps UNION SELECT domain, day FROM rej
         UNION SELECT domain, day FROM nm)
SELECT k.domain, k.day,
       coalesce(caps.captures, 0) + coalesce(rej.rejects, 0) AS pages,
       coalesce(caps.articles, 0) AS articles, coalesce(caps.captures, 0) AS captures,
       coalesce(rej.rejects, 0) AS rejects, coalesce(rejects_load, 0) AS rejects_load,
       coalesce(rejects_fetch, 0) AS rejects_fetch, coalesce(rejects_decode, 0) AS rejects_decode,
       coalesce(rejects_extract, 0) AS rejects_extract, coalesce(bot_walls, 0) AS bot_walls,
       coalesce(caps.captures, 0) + coalesce(fetched_fine, 0) AS fetch_2xx,
       coalesce(nm.fetch_304, 0) AS fetch_304, coalesce(nm.rendered, 0) AS rendered,
       coalesce(fetch_403, 0) AS fetch_403,
       coalesce(fetch_404, 0) AS fetch_404, coalesce(fetch_429, 0) AS fetch_429,
       coalesce(fetch_5xx, 0) AS fetch_5xx, coalesce(fetch_robots, 0) AS fetch_robots,
       coalesce(fetch_too_large, 0) AS fetch_too_large,
       coalesce(fetch_not_html, 0) AS fetch_not_html,
       median_words, low_decile_words, with_title, with_authors, with_date,
       with_declared_body, not_free, with_wire, copies
FROM keys k
LEFT JOIN caps USING (domain, day)
LEFT JOIN rej USING (domain, day)
LEFT JOIN nm USING (domain, day)
""")
    con.execute("CREATE VIEW publishers AS SELECT * FROM publishers_from(DATE '0001-01-01')")
