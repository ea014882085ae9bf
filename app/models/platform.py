"""Platform: the controlled vocabulary of blocked services (x, whatsapp, sms …)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app import vocab
from app.db import Base, UtcDateTime, utcnow


class Platform(Base):
    __tablename__ = "platforms"
    # `aliases` is the list as given (what GET shows, in its order); which platform a name
    # resolves to is `platform_names`, whose key keeps a name to one platform.

    slug: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(
        sa.Enum(*vocab.PLATFORM_KINDS, name="platform_kind", native_enum=False, create_constraint=True)
    )
    aliases: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlatformName(Base):
    """Every name a platform answers to, its slug and each alias, lower-case. The primary key
    makes a name belong to one platform, however many writes race for it."""

    __tablename__ = "platform_names"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    platform_slug: Mapped[str] = mapped_column(
        sa.ForeignKey("platforms.slug", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
