"""Column types shared by the tables."""

from sqlalchemy import BigInteger, Integer

#: 64-bit ids: the contracts number works, models and outputs with uint64, and a generation
#: platform makes billions of outputs (and usage lines). BIGINT on PostgreSQL; on SQLite INTEGER
#: is already 64-bit, and must stay INTEGER to remain the table's rowid.
#: The largest id a request may name: above it no row can exist (signed 64-bit columns), so a
#: bigger number is refused at the edge (422) instead of overflowing the database driver.
MAX_ID = 2**63 - 1
ID64 = BigInteger().with_variant(Integer(), "sqlite")
