"""User accounts as the platform creates them: the roles, the password rule and argon2
password hashes, over the `Users` records. Plain Python on the Database: the HTTP layer
(`deployments.ingress.auth.AuthService`) and the command line (``armillary user create``,
the admin user made at start-up) both create users here."""

from __future__ import annotations

from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storage.database.base import Database
from storage.errors import ConflictError
from storage.records.users import User, Users

MIN_PASSWORD_LENGTH = 8


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    RESEARCHER = "researcher"
    VIEWER = "viewer"


class AccountError(Exception):
    """A user cannot be created as asked; the message says why."""


class WeakPasswordError(AccountError):
    """The password breaks the password rule."""


class UserExistsError(AccountError):
    """The username is taken."""


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Verified against when a user does not exist, so that unknown names take as
        # long as wrong passwords.
        self._dummy = self._hasher.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class Accounts:
    def __init__(self, db: Database, passwords: Passwords | None = None) -> None:
        self.users = Users(db)
        self.passwords = passwords or Passwords()

    async def create(self, username: str, password: str, role: Role) -> User:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPasswordError(
                f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        try:
            return await self.users.create(username, self.passwords.hash(password), role.value)
        except ConflictError as exc:
            raise UserExistsError(f"user {username!r} already exists") from exc

    async def ensure(self, username: str, password: str, role: Role) -> tuple[User, bool]:
        """The user, created if missing; True when created now."""
        existing = await self.users.by_name(username)
        if existing is not None:
            return existing, False
        return await self.create(username, password, role), True
