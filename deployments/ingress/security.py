"""Credentials: JWT access tokens (pyjwt, HS256 only; password hashes:
`storage.records.accounts.Passwords`).

Access tokens carry ``sub`` (user id), ``name``, ``role``, ``jti``, ``iat``, ``exp``,
``aud`` and ``iss``; decoding pins the algorithm list, so ``alg: none`` and algorithm
swaps are rejected, and requires every one of those claims.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from deployments.ingress.roles import Role

ALGORITHM = "HS256"
_REQUIRED = ["sub", "role", "jti", "iat", "exp", "aud", "iss"]


class InvalidTokenError(Exception):
    """The token is malformed, expired, forged or for another audience."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    username: str
    role: Role
    jti: str
    issued_at: float
    expires_at: float


class AccessTokens:
    def __init__(self, secret: str, issuer: str, audience: str, ttl_s: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_s = ttl_s

    def issue(self, user_id: str, username: str, role: Role) -> str:
        now = time.time()  # fractional: revocation compares issue times exactly
        claims = {
            "sub": user_id, "name": username, "role": role.value, "jti": uuid.uuid4().hex,
            "iat": now, "exp": int(now) + self.ttl_s, "aud": self._audience, "iss": self._issuer,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=self._audience,
                issuer=self._issuer, options={"require": _REQUIRED},
            )
            return AccessClaims(
                str(claims["sub"]), str(claims.get("name", "")), Role(claims["role"]),
                str(claims["jti"]), float(claims["iat"]), float(claims["exp"]),
            )
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise InvalidTokenError(token_problem(exc)) from exc


def token_problem(exc: Exception) -> str:
    """What is wrong with a token, in words for a person: a malformed token's decoder
    detail (base64, UTF-8, JSON) says nothing useful to the caller, so it is not passed on."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the token has expired; log in again"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the token's signature does not match (not issued by this server)"
    if isinstance(exc, jwt.DecodeError):
        return ("not a token issued by this server (expected the access_token of "
                "POST /api/v1/auth/token)")
    if isinstance(exc, (jwt.InvalidAudienceError, jwt.InvalidIssuerError,
                        jwt.InvalidAlgorithmError, jwt.MissingRequiredClaimError,
                        jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError)):
        return str(exc)
    return "the token's claims are invalid (not issued by this server)"
