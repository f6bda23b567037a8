"""Encryption at rest of secret material in the Database (API-key digests), with keys from
settings (``ARMILLARY_ENCRYPTION_KEYS``: comma-separated Fernet keys, the first one
encrypts, all of them decrypt). `Sealer.rotate` re-encrypts a value with the first key
(`armillary keys rotate` does it for every row). A value without the ``enc:`` prefix is
a row written before encryption: it is read as it is, and sealed by the next rotation."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config.settings import Settings

PREFIX = "enc:"
DEV_KEY = "YXJtaWxsYXJ5LWRldi1vbmx5LWluc2VjdXJlLWtleSE="
"""The development and test key (32 known bytes): refused in production by settings."""


class SealError(ValueError):
    """A sealed value that no configured key opens (a key removed too early)."""


class Sealer:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_setting(cls, value: str | None) -> Sealer:
        keys = [k.strip() for k in (value or DEV_KEY).split(",") if k.strip()]
        return cls(keys)

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise SealError("no configured encryption key opens this value") from exc

    def rotate(self, stored: str) -> str:
        """``stored`` sealed with the first key (plain values are sealed)."""
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        try:
            return PREFIX + self._fernet.rotate(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise SealError("no configured encryption key opens this value") from exc


def new_key() -> str:
    return Fernet.generate_key().decode()


def settings_sealer(settings: Settings) -> Sealer:
    """The sealer of ``settings.encryption_keys`` (the dev key where unset: settings refuse
    that outside development and test)."""
    keys = settings.encryption_keys
    return Sealer.from_setting(None if keys is None else keys.get_secret_value())
