"""The revisions, oldest first: 0001 per-point metrics, 0002 packed metric chunks,
0003 SQLite JSON columns with TEXT affinity."""
