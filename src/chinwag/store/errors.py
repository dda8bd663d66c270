"""What the store raises when the database fails: no driver's exception type leaks above store/."""

from __future__ import annotations


class DatabaseError(Exception):
    """A statement or a transaction failed in the database (the server answers 503)."""


class IntegrityError(DatabaseError):
    """A constraint refused the change: a concurrent request wrote the same unique value first."""


class Refused(DatabaseError):
    """The database refused a value it cannot store (a character outside its encoding, an
    index entry over its size): the request's input is at fault, not the database, so a 400.
    The front doors refuse every such input they know of first; this is the net under them."""


class Unavailable(DatabaseError):
    """The database cannot serve now: gone, restarting, read-only, full, or too busy."""


class RetryLater(Unavailable):
    """The transaction was rolled back so that another one could go first (it waited too long
    for that one's lock, or broke a deadlock with it): running it again succeeds. `perform`
    does; any other caller answers as for Unavailable."""


class RowGone(RetryLater):
    """A row the transaction read was removed before its write by another transaction that
    committed first, on another writer (on PostgreSQL a channel's writes by SID and by unique
    name take different writers, and a user's delete, which removes the user's memberships,
    takes its service's). Run again, the operation answers as that change left things: a
    404, mostly. A row that refers to its owner (a channel to its service, an invite to its
    channel) refused by its foreign key is one of these too: the owner it located is gone."""

    def __init__(self, what: str = "a row") -> None:
        super().__init__(f"{what} went meanwhile")


class BatchLost(RetryLater):
    """The transaction was rolled back with the rest of its batch, through no fault of its own:
    a later transaction of the batch, one that had joined it without a savepoint of its own
    (`group_commit.Undo.BATCH`), failed after its first write. Only a transaction whose
    caller runs it again (`Undo.RERUN`, `Undo.BATCH`) shares a batch with such a one."""

    def __init__(self) -> None:
        super().__init__("its batch was rolled back: a later transaction of it failed")


class ResultError(Exception):
    """A result did not have the rows its caller asked for (`one()` of no row): a bug, a 500."""
