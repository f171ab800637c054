"""Keyset pagination, newest first, for every list the subgraphs serve.

Lists are ordered by (created_at, id) descending and `after` names the last item of the previous
page; "older than that item" is a keyset condition, so pages stay stable while rows are added and
no OFFSET scan grows with the page number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared.errors import bad_input

PAGE_DEFAULT = 50
PAGE_MAX = 200


def page_size(first: int | None) -> int:
    """The one page-size rule of every list: omitted/null means PAGE_DEFAULT; else 1..PAGE_MAX
    (BAD_USER_INPUT on `first` otherwise)."""
    if first is None:
        return PAGE_DEFAULT
    if isinstance(first, bool) or not 1 <= first <= PAGE_MAX:
        raise bad_input(f"first must be between 1 and {PAGE_MAX}", field="first")
    return first


def older_than(created_at: Any, item_id: Any, anchor_created_at: Any, anchor_id: Any) -> ColumnElement[bool]:
    """Rows strictly after the anchor row in (created_at, id) descending order."""
    return or_(created_at < anchor_created_at, and_(created_at == anchor_created_at, item_id < anchor_id))


def newest_first(created_at: Any, item_id: Any) -> tuple[Any, Any]:
    """The ORDER BY that `older_than` pages through."""
    return created_at.desc(), item_id.desc()


def newest_first_page(
    session: Session, query: Any, item_id: Any, scope: Any, first: int, after: str | None
) -> list[Any]:
    """One page of `query` newest first by (`item_id`'s table's created_at, `item_id`); `after` must
    be an item inside `scope` (another owner's or account's id is an unknown cursor, revealing
    nothing)."""
    created_at = item_id.table.c.created_at
    if after is not None:
        anchor = session.execute(select(created_at, item_id).where(item_id == after, scope)).first()
        if anchor is None:
            raise bad_input("Unknown cursor 'after'")
        query = query.where(older_than(created_at, item_id, *anchor))
    return list(session.execute(query.order_by(*newest_first(created_at, item_id)).limit(first)).all())
