"""Platform vocabulary endpoints."""

from __future__ import annotations

import re
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from app.db import db
from app.http.api import LOCATION_HEADER, Blueprint
from app.models import Platform
from app.resources import examples
from app.resources.platforms.schemas import SLUG, PlatformSchema
from app.services import platforms as platform_service

blp = Blueprint(
    "platforms",
    __name__,
    url_prefix="/api/v1/platforms",
    description="The controlled vocabulary of platforms an incident can name.",
)


@blp.route("")
class PlatformsViews(MethodView):
    @blp.etag
    @blp.response(200, PlatformSchema(many=True))
    def get(self):
        """List platforms

        The controlled vocabulary: every slug an incident's `platforms` can name, with the
        aliases accepted in its place (`twitter` → `x`).
        """
        return db.session.scalars(platform_service.list_platforms()).all()

    @blp.auth("admin")
    @blp.etag
    @blp.arguments(PlatformSchema, example=examples.PLATFORM)
    @blp.response(201, PlatformSchema, headers=LOCATION_HEADER)
    @blp.documents(400, 409, 415)
    def post(self, data: dict[str, Any]):
        """Add a platform

        A new slug and its aliases, none of them already a slug or alias (409). Admin keys only.
        """
        taken = platform_service.alias_map(db.session)
        clashes = [name for name in [data["slug"], *data["aliases"]] if name in taken]
        if clashes:
            abort(409, message=f"'{clashes[0]}' is already a platform slug or alias ({taken[clashes[0]]}).")
        platform = Platform(**{**data, "aliases": list(dict.fromkeys(data["aliases"]))})
        db.session.add(platform)
        db.session.commit()
        platform_service.forget_aliases(db.session)
        return platform, 201, {"Location": url_for("platforms.PlatformsBySlugViews", slug=platform.slug)}


@blp.route("/<string:slug>", parameters=[examples.PLATFORM_SLUG])
class PlatformsBySlugViews(MethodView):
    @blp.etag
    @blp.response(200, PlatformSchema)
    @blp.documents(404)
    def get(self, slug: str):
        """Get a platform

        By its slug (`x`); an alias is not a slug here (404).
        """
        # A slug can only be [a-z0-9-]: anything else (a NUL byte, say) is simply not there.
        platform = db.session.get(Platform, slug) if re.fullmatch(SLUG, slug) else None
        if platform is None:
            abort(404, message=f"Platform '{slug[:40]}' does not exist.")
        return platform
