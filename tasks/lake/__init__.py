"""The lake: hive-partitioned Parquet tables, staged by workers and committed atomically by the
flow (captures chosen and stories assigned at commit), and queried with DuckDB."""
