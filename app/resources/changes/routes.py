"""The change feed: every create, update, delete, restore and revert, in commit order."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.fast import feed
from app.http.api import Blueprint
from app.http.paging import NEXT_CURSOR_HEADER
from app.resources import examples
from app.resources.changes.schemas import ChangePageSchema, ChangesArgsSchema
from app.services import changes as change_service

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/api/v1/changes",
    description="The change feed: follow every change to the incidents, in commit order, to keep a copy.",
)

# A page that ends before the end of the feed never changes (what is committed up to its last
# cursor is final): caches may keep it. The last page grows as changes commit: always asked anew.
FULL_PAGE_CACHE = "public, max-age=3600"
LAST_PAGE_CACHE = "no-cache"

PAGE_HEADERS = {
    NEXT_CURSOR_HEADER: {
        "description": "The page's `next_cursor`: the `after` of the next request (always given).",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'RFC 8288 link to the next page (`rel="next"`), with the same filters; always given.',
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"`{FULL_PAGE_CACHE}` for a page with `has_more` (it never changes), "
        f"`{LAST_PAGE_CACHE}` for the end of the feed.",
        "schema": {"type": "string"},
    },
}


def next_link(cursor: int) -> str:
    args = [(name, value) for name, value in request.args.items(multi=True) if name != "after"]
    return f'<{request.base_url}?{urlencode([*args, ("after", cursor)])}>; rel="next"'


@blp.route("")
class ChangesViews(MethodView):
    @blp.arguments(ChangesArgsSchema, location="query")
    @blp.response(200, ChangePageSchema, headers=PAGE_HEADERS, example=examples.CHANGE_PAGE)
    @blp.documents(400, 409)
    def get(self, args: dict[str, Any]):
        """List changes (the change feed)

        Every create, update (child records included), delete, restore and revert of every
        incident, in the order their transactions committed, each with the incident's whole
        document after it (a tombstone for a delete). Start with `after=0`, then send each
        page's `next_cursor`, which is always given: at the end of the feed (`has_more` false,
        also on an empty page) it is where to poll from for the changes still to come. A change
        that commits later always gets a larger cursor, so none is missed. A page's changes
        follow filters, the cursor does not: a filtered page may be empty and still move on.
        """
        try:
            page = change_service.changes_after(
                db.session.connection(), args["after"], args["limit"], args.get("country"), args.get("action")
            )
        except change_service.CursorAhead as ahead:
            abort(
                409,
                message=f"Cursor {ahead.after} is past the last change ({ahead.until}): the database was "
                "restored to an earlier point, so the changes numbered after it are not the ones you "
                "read. Follow the feed again from after=0 and rebuild your copy.",
            )
        headers = {
            NEXT_CURSOR_HEADER: str(page.next_cursor),
            "Link": next_link(page.next_cursor),
            "Cache-Control": FULL_PAGE_CACHE if page.has_more else LAST_PAGE_CACHE,
        }
        # Served as built (app/fast/feed.py): the stored documents are not parsed again.
        return Response(feed.body(page), mimetype="application/json", headers=headers)
