"""Models shared by several resources."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``data`` plus the total ``count`` matching the filters."""

    data: list[T]
    count: int = Field(description="rows matching the filters, over all pages")
    offset: int
    limit: int
