"""Pagination for lists: `?page=1&per_page=50`; the answer says the total and the next page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request

T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    """Which page of a list to show (1-based) and how many entries per page."""

    page: int
    per_page: int


def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Paging:
    """The dependency reading `page` (1 to 1,000,000) and `per_page` (1 to 200, default 50) from the
    query; FastAPI answers 422 outside those bounds."""
    return Paging(page, per_page)


def window(items: Sequence[T], p: Paging) -> tuple[list[T], bool]:
    """The entries of the requested page, and whether another page follows."""
    start = (p.page - 1) * p.per_page
    return list(items[start : start + p.per_page]), start + p.per_page < len(items)


def paginate(
    request: Request, items: Sequence[T], p: Paging, to_json: Callable[[T], Any]
) -> dict[str, Any]:
    """A page of `items` as the API answers it: the entries (through `to_json`), page, per_page,
    total and the URL of the next page or None."""
    shown, more = window(items, p)
    nxt = str(request.url.include_query_params(page=p.page + 1)) if more else None
    return {
        "items": [to_json(x) for x in shown],
        "page": p.page,
        "per_page": p.per_page,
        "total": len(items),
        "next": nxt,
    }
