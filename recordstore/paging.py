"""Paging newest first through records numbered `<prefix><7 digits>` (INC, KE, PRB).

One cursor format for every list: the id of the last record of the page, base64url without
padding. A cursor is opaque to clients; anything this module did not make is InvalidCursor.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")


class InvalidCursor(ValueError):
    """A cursor that no list of this store returned."""

    def __init__(self) -> None:
        super().__init__("invalid cursor")


def encode_cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(record_id.encode()).decode().rstrip("=")


def decode_any_cursor(cursor: str) -> str:
    """The id behind a cursor made by encode_cursor (lists not kept in the store: CIs)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursor from None


def decode_cursor(cursor: str, prefix: str) -> str:
    """The record id behind a cursor made by encode_cursor for an id like `KE0000042`."""
    record_id = decode_any_cursor(cursor)
    if not re.fullmatch(re.escape(prefix) + r"\d{7}", record_id):
        raise InvalidCursor
    return record_id


@dataclass(frozen=True)
class Pager:
    """Newest first by `key`: the id column itself (incidents' `number`) or, with `by_number`,
    a column holding the id's number (`seq` of known errors and problems)."""

    prefix: str
    key: sa.Column[Any]
    by_number: bool = False

    def select(self, query: sa.Select[Any], limit: int, cursor: str | None) -> sa.Select[Any]:
        """`query` narrowed to one page, plus one row that tells whether another page follows."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if cursor is not None:
            last_id = decode_cursor(cursor, self.prefix)
            bound = int(last_id.removeprefix(self.prefix)) if self.by_number else last_id
            query = query.where(self.key < bound)
        return query.order_by(self.key.desc()).limit(limit + 1)

    def page(
        self, items: Sequence[T], limit: int, id_of: Callable[[T], str]
    ) -> tuple[list[T], str | None]:
        """The page's items and the cursor of the next page (None on the last one)."""
        kept = list(items[:limit])
        next_cursor = encode_cursor(id_of(kept[-1])) if len(items) > limit else None
        return kept, next_cursor
