"""The type of every table's `pk`: BIGINT identity on PostgreSQL, the rowid alias on SQLite."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

KEY = BigInteger().with_variant(Integer(), "sqlite")
