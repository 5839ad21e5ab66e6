"""DuckDB over the lake: one view per table, so users query the lake with plain SQL.

The views read the Parquet files in place (`read_parquet(..., hive_partitioning = true)`); a
table that has no partition yet is an empty view with the right columns, so a query over a
fresh lake answers with no rows rather than an error. A lake that does not exist at all is an
error (LakeNotFoundError): a mistyped path must not look like an empty lake.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import duckdb
import polars as pl

from newslake.tasks.errors import NewslakeError
from newslake.tasks.lake.publishers import create_publishers_view
from newslake.tasks.lake.store import Lake, LakeLike
from newslake.tasks.lake.tables import PARTITION, RUNS, SCHEMAS

__all__ = ["QueryError", "connect", "run_query"]

_DUCK_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.UInt32: "UINTEGER",
    pl.Float64: "DOUBLE",
    pl.Binary: "BLOB",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}


class QueryError(NewslakeError):
    """A query DuckDB refused, with DuckDB's own message."""


def _duck_type(dtype: Any) -> str:
    """DuckDB's name for a polars type, for the empty views of tables with no file yet."""
    if isinstance(dtype, pl.List):
        return f"{_duck_type(dtype.inner)}[]"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.Struct):
        fields = ", ".join(f'"{f.name}" {_duck_type(f.dtype)}' for f in dtype.fields)
        return f"STRUCT({fields})"
    return _DUCK_TYPES[dtype.base_type()]


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def connect(
    lake: LakeLike, *, since: date | None = None, days: Collection[date] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per lake table.

    A lake on an object store is read through its fsspec filesystem, registered with DuckDB, so
    DuckDB needs no extension download (httpfs) and uses the same credentials as the pipeline.
    With `since`, each view holds only the partitions from that day on, so nothing older is
    read (not even a file's footer). With `days`, each view holds only those days' partitions,
    read into memory with one request a file, and only the tables the publishers view reads
    (the others are empty): what a run's health check uses
    (`tasks/lake/health.py`), whose cost must not grow with the lake's span of days. (The
    publishers view reads articles from its first day on, for the outlet of a story's first
    article; one published after the run's last day is not looked for.)
    """
    lake = lake if isinstance(lake, Lake) else Lake.existing(lake)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if not lake.local:
        con.register_filesystem(lake.fs)
    views: dict[str, pl.Schema] = {table: schema for table, schema in SCHEMAS.items()}
    views["runs"] = RUNS
    for table, schema in views.items():
        # Wrapped below: captures with is_current, stories without their MinHash columns.
        name = f"_{table}" if table in ("captures", "stories") else table
        if days is not None:
            if table in _PUBLISHER_TABLES:
                _register_days(con, lake, name, table, schema, days)
            else:
                con.execute(_empty_view(name, schema))
            continue
        files = _files(lake, table, since)
        if files:
            # A column newer than every file (a lake written before it existed) reads as null,
            # so queries and the publishers view see the table's current schema. Columns are
            # only ever added, so the newest file (the last day's) has every column there is.
            newest = f"read_parquet({_quote(files[-1])})"
            present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {newest}").fetchall()}
            missing = "".join(
                f", CAST(NULL AS {_duck_type(t)}) AS {n}"
                for n, t in schema.items()
                if n not in present
            )
            con.execute(
                f"CREATE VIEW {name} AS SELECT *{missing} FROM {_read(lake, table, files, since)}"
            )
        else:
            con.execute(_empty_view(name, schema))
    # Whether each capture is the one its article's row was built from.
    con.execute(
        "CREATE VIEW captures AS SELECT c.*, c.capture_id IN "
        "(SELECT capture_id FROM articles) AS is_current FROM _captures c"
    )
    con.execute("CREATE VIEW stories AS SELECT * EXCLUDE (signature, bands) FROM _stories")
    # The raw zone holds page bodies: DuckDB reads only the columns the view needs from it.
    raw_files = _files(lake, "raw", since)
    if days is not None:
        raw_files = [f for f in raw_files if lake.day_of(f) in days]
    listed = since if days is None else min(days)
    raw = _read(lake, "raw", raw_files, listed) if raw_files else None
    create_publishers_view(con, raw=raw)
    _sandbox(con, lake)
    return con


# What the publishers view reads: a days connection (a run's health step) reads these only.
_PUBLISHER_TABLES = frozenset({"articles", "captures", "rejects", "stories"})


def _register_days(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    name: str,
    table: str,
    schema: pl.Schema,
    days: Collection[date],
) -> None:
    """A view over a table's partitions of `days` only, read whole (one GET a file on an object
    store, where DuckDB would ask for each file's size and footer first)."""
    files = [f for f in lake.partition_files(table) if lake.day_of(f) in days]
    if not files:
        con.execute(_empty_view(name, schema))
        return
    frame = lake.read(files, hive=True)
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in schema.items() if n not in frame.columns]
    con.register(name, frame.with_columns(missing).to_arrow())


def _empty_view(name: str, schema: pl.Schema) -> str:
    """A view with a table's columns and no row: a table with no partition yet."""
    columns = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {n}" for n, t in schema.items())
    return f"CREATE VIEW {name} AS SELECT {columns}, CAST(NULL AS DATE) AS {PARTITION} WHERE false"


def _files(lake: Lake, table: str, since: date | None) -> list[str]:
    """A table's Parquet files (as DuckDB names them), from `since` on when given."""
    files = lake.partition_files(table)
    if since is not None:
        files = [f for f in files if lake.day_of(f) >= since]
    return [f if lake.local else lake.fs.unstrip_protocol(f) for f in files]


def _read(lake: Lake, table: str, files: list[str], since: date | None) -> str:
    """The read_parquet call over a table: its glob, or the listed files from `since` on."""
    source = (
        "[" + ", ".join(_quote(f) for f in files) + "]"
        if since is not None
        else _quote(lake.uri(table, f"{PARTITION}=*", "*.parquet"))
    )
    return (
        f"read_parquet({source}, hive_partitioning = true, "
        f"hive_types = {{'{PARTITION}': DATE}}, union_by_name = true)"
    )


def _sandbox(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Let the user's SQL read the lake and nothing else on this machine.

    DuckDB may read only under the lake's root, may not reach other files or the network, and
    the user's SQL cannot change that back (`lock_configuration`). A lake on an object store is
    read through the fsspec filesystem registered above, which these settings do not govern;
    `run_query`'s statement check keeps writes out there.
    """
    if lake.local:
        con.execute("SET allowed_directories = [?]", [lake.root + "/"])
        con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


_READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _check_read_only(sql: str) -> None:
    """One SELECT (or EXPLAIN): `newslake query` reads the lake, it never writes anything."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    if len(statements) != 1:
        msg = f"give one SQL statement, not {len(statements)}"
        raise QueryError(msg)
    if statements[0].type not in _READ_ONLY:
        kind = statements[0].type.name
        msg = f"newslake query runs SELECT statements only (this one is {kind}); it never writes"
        raise QueryError(msg)


def run_query(lake: LakeLike, sql: str) -> pl.DataFrame:
    """Run one read-only SQL statement against the lake's views; its result as a polars frame."""
    _check_read_only(sql)
    con = connect(lake)
    try:
        relation = con.sql(sql)
        return relation.pl() if relation is not None else pl.DataFrame()
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    finally:
        con.close()
