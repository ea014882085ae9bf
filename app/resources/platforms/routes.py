"""Platform vocabulary endpoints."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
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

        Its slug and each alias must be free: a name belongs to one platform (409 naming the
        platform that holds it).
        """
        names = platform_service.names_of(data)
        _refuse_taken(platform_service.first_taken(db.session, names))
        try:
            platform = platform_service.add_platform(db.session, data)
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another request took one of the names between the check and the write.
            db.session.rollback()
            _refuse_taken(platform_service.first_taken(db.session, names))
            raise
        return platform, 201, {"Location": url_for("platforms.PlatformsBySlugViews", slug=platform.slug)}


def _refuse_taken(taken: tuple[str, str] | None) -> None:
    if taken is not None:
        name, holder = taken
        abort(
            409,
            message=f"'{name}' is already a slug or alias of the platform '{holder}': "
            f"choose another name, or use '{holder}'.",
        )


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
