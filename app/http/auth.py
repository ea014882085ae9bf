"""Authentication: the bearer API key, the `auth(role)` decorator and the request's caller."""

from __future__ import annotations

from functools import wraps
from typing import Any

from apispec import APISpec
from flask import g, request
from flask_smorest import abort

from app.db import db
from app.services import auth as auth_service
from app.services import revisions

BEARER = "bearerAuth"
REALM = 'Bearer realm="shutdown-tracker"'


def caller_or_none() -> auth_service.Caller | None:
    """The caller of a request with a valid key, else None (cached on `g`; never raises)."""
    if "caller" not in g:
        g.caller, g.caller_error = _identify(request.headers.get("Authorization", ""))
    return g.caller


def _identify(header: str) -> tuple[auth_service.Caller | None, str | None]:
    """The caller an Authorization header names, or why it names none."""
    if not header:
        return None, None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None, "Use `Authorization: Bearer <api key>`."
    try:
        api_key = auth_service.verify(db.session, key)
    except auth_service.KeyError_ as error:
        return None, str(error)
    if auth_service.mark_used(api_key):
        db.session.commit()
    return auth_service.Caller(api_key.name, api_key.role), None


def authenticate() -> auth_service.Caller:
    """The caller, or a 401 with the bearer challenge; the caller signs the request's revisions."""
    caller = caller_or_none()
    if caller is None:
        error = g.get("caller_error")
        challenge = REALM + (', error="invalid_token"' if error else "")
        abort(
            401,
            message=error or "This needs an API key: send `Authorization: Bearer <api key>`.",
            headers={"WWW-Authenticate": challenge},
        )
    revisions.set_actor(db.session, caller.name)
    return caller


def register_security_scheme(spec: APISpec) -> None:
    spec.components.security_scheme(
        BEARER,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`flask --app wsgi keys create NAME --role editor`). "
            "Editors create, edit and import; admins also delete, restore and add platforms.",
        },
    )


class RoleAuth:
    """Blueprint part: the `auth(role)` decorator."""

    def auth(self, role: str):
        """Require an API key of `role` (or higher); documents the bearer scheme, 401 and 403."""

        def decorator(func):
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any):
                caller = authenticate()
                if not caller.may(role):
                    abort(
                        403,
                        message=f"This needs an {role} key; the key '{caller.name}' is an {caller.role} key.",
                    )
                return func(*args, **kwargs)

            wrapper = self.documents(401, 403)(wrapper)
            return self.doc(security=[{BEARER: []}])(wrapper)

        return decorator
