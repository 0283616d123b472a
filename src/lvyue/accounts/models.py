"""Users, bearer tokens, API keys with their nonces and rate counters, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, UTCDateTime
from lvyue.core.pii import ENCRYPTED


class User(Base):
    __tablename__ = "accounts_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32))  # accounts.roles.Role
    # Scope: empty list = every warehouse / shop.
    warehouse_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    shop_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Lock-out state (accounts.passwords.LoginState).
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Token(Base):
    """A bearer token (session). Only the SHA-256 of the token is stored."""

    __tablename__ = "accounts_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")


class ApiKey(Base):
    """An integration's app key; its secret is stored encrypted so HMACs can be verified."""

    __tablename__ = "accounts_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    app_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.Text, info={ENCRYPTED: "fernet"})
    role: Mapped[str] = mapped_column(sa.String(32))
    warehouse_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    shop_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rate_limit_per_minute: Mapped[int] = mapped_column(default=600)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[str] = mapped_column(sa.String(100), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str] = mapped_column(sa.String(100), default="")

    __table_args__ = (sa.CheckConstraint("rate_limit_per_minute > 0", name="rate_positive"),)


class ApiNonce(Base):
    """A nonce seen with a valid signature, kept until its timestamp can no longer pass.

    The unique constraint is what makes a replay fail even when two processes receive the
    same request at the same moment.
    """

    __tablename__ = "accounts_api_nonce"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts_api_key.id"))
    nonce: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("api_key_id", "nonce"),
        sa.Index("ix_accounts_api_nonce_expiry", "api_key_id", "expires_at"),
    )


class ApiRate(Base):
    """Requests accepted per key in one fixed window (one row per key and window)."""

    __tablename__ = "accounts_api_rate"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts_api_key.id"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("api_key_id", "window_start"),)


class AuditEntry(Base):
    """Who did what to which target, when and from where (a client address, or ``cli``).
    Append-only: the database refuses updates and deletes (triggers of migrations 0010, 0015)."""

    __tablename__ = "accounts_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    actor: Mapped[str] = mapped_column(sa.String(100), index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(32), default="")
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")

    __table_args__ = (sa.Index("ix_accounts_audit_target", "target_type", "target"),)
