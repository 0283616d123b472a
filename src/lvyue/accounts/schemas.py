"""Pydantic input and output of the accounts API: password change and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

# Generous bounds on the request only: the password policy (accounts.passwords) decides, so
# that a refused new password is audited like any other refused change.
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class PasswordChange(BaseModel):
    old_password: Password
    new_password: Password


class PasswordChanged(BaseModel):
    changed: bool
    sessions_ended: int = Field(description="the user's other sessions that were signed out")


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="username, api:<app key>, or cli:<os user>")
    action: str
    target_type: str
    target: str
    details: dict[str, Any]
    ip: str = Field(description="where from: the client address, or 'cli'")
    user_agent: str


class AuditPage(BaseModel):
    items: list[AuditEntryRead] = Field(description="newest first")
    total: int = Field(description="entries matching the filters, on every page")
    next_before_id: int | None = Field(
        description="pass as before_id for the next (older) page; null on the last page"
    )
