"""Platform: the controlled vocabulary of blocked services (x, whatsapp, sms …)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app import vocab
from app.db import Base, UtcDateTime, utcnow


class Platform(Base):
    __tablename__ = "platforms"

    slug: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(
        sa.Enum(*vocab.PLATFORM_KINDS, name="platform_kind", native_enum=False, create_constraint=True)
    )
    aliases: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
