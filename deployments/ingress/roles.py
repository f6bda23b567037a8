"""Roles and what each route needs. Admin may do everything; analyst and researcher
each have their own areas; viewer only reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    RESEARCHER = "researcher"
    VIEWER = "viewer"


ANYONE = frozenset(Role)
"""Any authenticated principal."""
ANALYSTS = frozenset({Role.ADMIN, Role.ANALYST})
RESEARCHERS = frozenset({Role.ADMIN, Role.RESEARCHER})
STAFF = frozenset({Role.ADMIN, Role.ANALYST, Role.RESEARCHER})
ADMINS = frozenset({Role.ADMIN})
