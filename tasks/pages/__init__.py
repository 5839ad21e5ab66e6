"""Pages in, rows staged: read input files into pages, hand them out as shards and batches, and
process a batch (or a day of a backfill) from decode to staged rows."""
