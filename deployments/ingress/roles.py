"""Roles and what each route needs. Admin may do everything; analyst and researcher
each have their own areas; viewer only reads."""

from __future__ import annotations

from storage.records.accounts import Role

__all__ = ["ADMINS", "ANALYSTS", "ANYONE", "RESEARCHERS", "STAFF", "Role"]


ANYONE = frozenset(Role)
"""Any authenticated principal."""
ANALYSTS = frozenset({Role.ADMIN, Role.ANALYST})
RESEARCHERS = frozenset({Role.ADMIN, Role.RESEARCHER})
STAFF = frozenset({Role.ADMIN, Role.ANALYST, Role.RESEARCHER})
ADMINS = frozenset({Role.ADMIN})
