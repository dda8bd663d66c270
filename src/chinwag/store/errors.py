"""What the store raises when the database fails: no driver's exception type leaks above store/."""

from __future__ import annotations


class DatabaseError(Exception):
    """A statement or a transaction failed in the database (the server answers 503)."""


class IntegrityError(DatabaseError):
    """A constraint refused the change: a concurrent request wrote the same unique value first."""


class Unavailable(DatabaseError):
    """The database cannot serve now: gone, restarting, read-only, full, or too busy."""


class ResultError(Exception):
    """A result did not have the rows its caller asked for (`one()` of no row): a bug, a 500."""
