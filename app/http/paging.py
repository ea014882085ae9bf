"""Paging: the `SelectPage` pager and the headers of a page (X-Pagination, Link, X-Next-Cursor)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import request
from flask_smorest import Page
from flask_smorest.pagination import PaginationMetadataSchema, PaginationParameters

from app.db import db

NEXT_CURSOR_HEADER = "X-Next-Cursor"


@dataclass
class PageCursor:
    """What a keyset pager tells the page's headers, on `page_params.cursor` (as flask-smorest's
    pager tells them `page_params.item_count`)."""

    # The page was asked for by cursor (`after`): it has a total but no page number.
    keyset: bool = False
    # The `after` value of the next page, when one follows.
    next_cursor: str | None = None


def cursor_of(page_params: PaginationParameters) -> PageCursor:
    return getattr(page_params, "cursor", None) or PageCursor()


class SelectPage(Page):
    """Pages a SQLAlchemy 2 `select()`; the select must already carry a total `order_by`."""

    @property
    def item_count(self) -> int:
        return count_rows(self.collection)

    @property
    def items(self) -> list[Any]:
        params = self.page_params
        if params.first_item >= (params.item_count or 0):
            return []  # past the end: no query (and no OFFSET too large for the database)
        stmt = self.collection.offset(params.first_item).limit(params.page_size)
        return self.convert(db.session.execute(stmt))

    def convert(self, result: sa.Result) -> list[Any]:
        """Rows → items; by default the ORM objects of a `select(Model)`."""
        return list(result.scalars())


def count_rows(statement: sa.Select) -> int:
    """How many rows a select gives."""
    # count(*) over the same FROM and WHERE, not over a subquery of every selected column:
    # the database can then answer from an index alone.
    count = statement.order_by(None).with_only_columns(sa.func.count(), maintain_column_froms=True)
    # Through the session's connection: a Core statement needs none of the ORM's execution.
    return db.session.connection().scalar(count)


def page_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
    """flask-smorest's X-Pagination metadata, as plain integers. For speed: its plain twin is
    flask-smorest's own (a schema dump), proven equal by tests/test_fast_paths.py."""
    if item_count == 0:
        return {"total": 0, "total_pages": 0}
    last_page = (item_count - 1) // page_size + 1
    metadata = {"total": item_count, "total_pages": last_page, "first_page": 1, "last_page": last_page}
    if page <= last_page:
        metadata["page"] = page
        if page > 1:
            metadata["previous_page"] = page - 1
        if page < last_page:
            metadata["next_page"] = page + 1
    return metadata


class PageHeaders:
    """Blueprint part: X-Pagination, RFC 8288 Link and X-Next-Cursor on every page.

    The three methods below are flask-smorest's documented override points ("Override this to
    set pagination data another way"): it has no public ones for the pagination header."""

    # Private: flask-smorest's documented override point for the headers a page sets.
    def _set_pagination_metadata(self, page_params, result, headers):
        cursor = cursor_of(page_params)
        if cursor.keyset:
            # Keyset paging knows the total, not the page number: no page fields, no prev/last.
            headers = {} if headers is None else headers
            headers[self.PAGINATION_HEADER_NAME] = json.dumps({"total": page_params.item_count or 0})
            headers["Link"] = cursor_links(cursor.next_cursor)
        else:
            result, headers = super()._set_pagination_metadata(page_params, result, headers)
            if page_params.item_count is not None:
                headers["Link"] = page_links(page_params)
        if cursor.next_cursor is not None:
            headers[NEXT_CURSOR_HEADER] = cursor.next_cursor
        return result, headers

    # Private: flask-smorest's documented override point for the X-Pagination metadata.
    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        # Without the PaginationMetadataSchema flask-smorest builds to dump these integers as they are.
        return page_metadata(page, page_size, item_count)

    # Private: flask-smorest's documented override point for the pagination headers' documentation.
    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {})
        # Header values are strings: X-Pagination holds JSON, the others plain text.
        resp_doc["headers"][self.PAGINATION_HEADER_NAME] = {
            "description": "JSON object with the totals: `total`, `total_pages`, `first_page`, "
            "`last_page`, `page`, `previous_page`, `next_page` (with `after`: `total` only).",
            # A header whose value is JSON: OpenAPI describes it with `content`, not `schema`.
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }
        resp_doc["headers"]["Link"] = {
            "description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, "
            "with the same filters (with `after`: `first` and `next`).",
            "schema": {"type": "string"},
        }
        resp_doc["headers"][NEXT_CURSOR_HEADER] = {
            "description": "When more incidents follow: the `after` value that gives the next page "
            "(keyset paging; not for a search ordered by relevance).",
            "schema": {"type": "string"},
        }


def cursor_links(cursor: str | None) -> str:
    """Link header of a keyset page: the first page, and the next when a cursor leads there."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "after")]
    links = [f'<{request.base_url}?{urlencode(args)}>; rel="first"']
    if cursor is not None:
        links.append(f'<{request.base_url}?{urlencode([*args, ("after", cursor)])}>; rel="next"')
    return ", ".join(links)


def page_links(page_params: PaginationParameters) -> str:
    """Link header of a numbered page: first, prev, next and last, with the same filters."""
    size = page_params.page_size
    last = max((page_params.item_count - 1) // size + 1, 1)
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]

    def url(page: int) -> str:
        return f"{request.base_url}?{urlencode([*args, ('page', page)])}"

    links = [("first", 1)]
    if 1 < page_params.page <= last + 1:
        links.append(("prev", page_params.page - 1))
    if page_params.page < last:
        links.append(("next", page_params.page + 1))
    links.append(("last", last))
    return ", ".join(f'<{url(page)}>; rel="{rel}"' for rel, page in links)
