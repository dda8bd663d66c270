"""Database errors as the layers above the store see them, whatever the driver."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

__all__ = ["IntegrityError"]
