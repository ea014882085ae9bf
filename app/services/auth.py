"""API keys: creation, lookup by public prefix, constant-time verification, revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import ApiKey
from app.models.api_key import ROLES

KEY_MARK = "sit"
PREFIX_BYTES = 6  # 8 url-safe characters, public: it finds the row, it proves nothing
SECRET_BYTES = 32
# last_used_at is written at most this often, so reads of a busy key don't all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class KeyError_(Exception):
    """A key that is malformed, unknown or revoked (the message is safe to show)."""


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: no dictionary to attack.
    return hashlib.sha256(key.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    if not key.isascii() or not key.isprintable():
        return None  # NUL bytes and the like never reach the database
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_MARK or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def create_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    """Create a key; the plain key is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} already exists")
    prefix = secrets.token_urlsafe(PREFIX_BYTES).replace("_", "-")
    plain = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES).replace('_', '-')}"
    api_key = ApiKey(name=name, role=role, prefix=prefix, key_hash=_hash(plain), created_at=utcnow())
    session.add(api_key)
    session.flush()
    return api_key, plain


def verify(session: Session, plain: str) -> ApiKey:
    parts = _split(plain.strip())
    if parts is None:
        raise KeyError_("The API key is malformed.")
    api_key = session.scalar(sa.select(ApiKey).where(ApiKey.prefix == parts[0]))
    # Compare even when no row matched, so timing does not tell a known prefix from an unknown one.
    expected = api_key.key_hash if api_key is not None else _hash("")
    if not hmac.compare_digest(expected, _hash(plain.strip())) or api_key is None:
        raise KeyError_("The API key is not valid.")
    if api_key.revoked_at is not None:
        raise KeyError_("The API key has been revoked.")
    return api_key


def mark_used(api_key: ApiKey) -> bool:
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        return True
    return False


def revoke(session: Session, name: str) -> ApiKey | None:
    api_key = session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
    if api_key is not None and api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.name)))
