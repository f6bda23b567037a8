"""OAuth2 password flow, refresh rotation with reuse detection, logout, API keys, user
management, and the JWT rules (pinned algorithm, required claims)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from deployments.ingress.roles import Role
from tests.deployments.conftest import PASSWORD, Api


def test_login_and_me(api: Api) -> None:
    tokens = api.login("analyst")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = api.client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["name"] == "analyst" and me.json()["role"] == "analyst"


@pytest.mark.parametrize(("username", "password"), [("analyst", "wrong password"),
                                                    ("ghost", PASSWORD)])
def test_bad_credentials_are_401_with_same_message(api: Api, username: str, password: str) -> None:
    response = api.client.post("/api/v1/auth/token",
                               data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["detail"] == "incorrect username or password"


def test_login_form_missing_fields_is_422(api: Api) -> None:
    response = api.client.post("/api/v1/auth/token", data={"username": "x"})
    assert response.status_code == 422 and "password" in str(response.json()["detail"])


def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    first = api.login("viewer")
    second = api.client.post("/api/v1/auth/refresh",
                             json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    replay = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "reuse" in replay.json()["detail"]
    after = api.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
    assert after.status_code == 401


def test_logout_revokes_access_and_refresh(api: Api) -> None:
    tokens = api.login("researcher")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = api.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                          headers=auth)
    assert out.status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=auth).status_code == 401
    again = api.client.post("/api/v1/auth/refresh",
                            json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_logout_with_another_users_refresh_token_revokes_nothing(api: Api) -> None:
    victim = api.login("analyst")
    attacker = {"Authorization": f"Bearer {api.login('researcher')['access_token']}"}
    out = api.client.post("/api/v1/auth/logout", json={"refresh_token": victim["refresh_token"]},
                          headers=attacker)
    assert out.status_code == 403
    assert out.json()["detail"] == "that refresh token belongs to another user"
    # The victim's refresh family is intact: their token still rotates.
    rotated = api.client.post("/api/v1/auth/refresh",
                              json={"refresh_token": victim["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    # And the refused logout did not end the attacker's own session either.
    assert api.client.get("/api/v1/auth/me", headers=attacker).status_code == 200


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    def part(data: object) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.{part(signature)}"


def _claims(api: Api, **changes: object) -> dict[str, object]:
    user = api.run(api.ctx.auth.users.by_name, "admin")
    now = time.time()
    claims: dict[str, object] = {
        "sub": user.id, "name": "admin", "role": "admin", "jti": "j1", "iat": now,
        "exp": now + 600, "aud": "armillary-api", "iss": "armillary",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _status_with(api: Api, token: str) -> int:
    response = api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def test_jwt_alg_none_and_foreign_keys_are_rejected(api: Api) -> None:
    secret = api.ctx.settings.jwt_secret.get_secret_value()
    assert _status_with(api, jwt.encode(_claims(api), secret, algorithm="HS256")) == 200
    assert _status_with(api, _forge({"alg": "none", "typ": "JWT"}, _claims(api))) == 401
    assert _status_with(api, jwt.encode(_claims(api), secret + "x", algorithm="HS256")) == 401
    assert _status_with(api, jwt.encode(_claims(api), secret, algorithm="HS512")) == 401


@pytest.mark.parametrize("change", [
    {"aud": "someone-else"}, {"iss": "evil"}, {"exp": time.time() - 5}, {"exp": None},
    {"jti": None}, {"role": "superuser"},
])
def test_jwt_claims_are_enforced(api: Api, change: dict[str, object]) -> None:
    secret = api.ctx.settings.jwt_secret.get_secret_value()
    token = jwt.encode(_claims(api, **change), secret, algorithm="HS256")
    assert _status_with(api, token) == 401


def test_malformed_authorization_headers(api: Api) -> None:
    for value in ["Bearer", "Basic abc", "Bearer not.a.jwt", "bearer " + "x" * 5000]:
        response = api.client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_api_keys_created_once_scoped_and_revocable(api: Api) -> None:
    admin = api.bearer("admin")
    created = api.client.post("/api/v1/apikeys", json={"name": "etl", "role": "analyst"},
                              headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    listed = api.client.get("/api/v1/apikeys", headers=admin).json()
    assert [k["name"] for k in listed] == ["etl"] and "key" not in listed[0]
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()["role"] == "analyst"
    assert api.client.get("/api/v1/users", headers={"X-API-Key": key}).status_code == 403
    revoked = api.client.delete(f"/api/v1/apikeys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": "ak_bogus.x"}).status_code == 401


def test_user_management_disable_and_role_change(api: Api) -> None:
    admin = api.bearer("admin")
    made = api.client.post("/api/v1/users", headers=admin,
                           json={"username": "carol", "password": PASSWORD, "role": "viewer"})
    assert made.status_code == 201
    carol_id = made.json()["id"]
    dup = api.client.post("/api/v1/users", headers=admin,
                          json={"username": "carol", "password": PASSWORD})
    assert dup.status_code == 409
    carol = api.bearer("carol")
    promoted = api.client.patch(f"/api/v1/users/{carol_id}", json={"role": "analyst"},
                                headers=admin)
    assert promoted.json()["role"] == "analyst"
    assert api.client.get("/api/v1/auth/me", headers=carol).status_code == 401  # old token
    fresh = {"Authorization": f"Bearer {api.login('carol')['access_token']}"}
    assert api.client.get("/api/v1/auth/me", headers=fresh).json()["role"] == "analyst"
    disabled = api.client.patch(f"/api/v1/users/{carol_id}", json={"disabled": True},
                                headers=admin)
    assert disabled.json()["disabled"] is True
    login = api.client.post("/api/v1/auth/token", data={"username": "carol", "password": PASSWORD})
    assert login.status_code == 401 and "disabled" in login.json()["detail"]
    names = [u["username"] for u in api.client.get("/api/v1/users", headers=admin).json()]
    assert "carol" in names


@pytest.mark.parametrize("body", [
    {"username": "ab", "password": PASSWORD}, {"username": "ok_name", "password": "short"},
    {"username": "ok_name", "password": PASSWORD, "role": "god"},
    {"username": "bad name!", "password": PASSWORD},
])
def test_bad_user_input_is_422(api: Api, body: dict[str, str]) -> None:
    response = api.client.post("/api/v1/users", json=body, headers=api.bearer("admin"))
    assert response.status_code == 422
    assert response.json()["detail"]


def test_admin_cannot_lock_themselves_out(api: Api) -> None:
    admin = api.bearer("admin")
    me = api.client.get("/api/v1/auth/me", headers=admin).json()
    response = api.client.patch(f"/api/v1/users/{me['id']}", json={"disabled": True},
                                headers=admin)
    assert response.status_code == 409


def test_roles_are_the_four_documented() -> None:
    assert {r.value for r in Role} == {"admin", "analyst", "researcher", "viewer"}


@pytest.mark.parametrize("token", ["\xb7\xb7\xb7", "garbage", "abc.def.ghi", "eyJ.eyJ.x",
                                   "%%%.%%%.%%%"])
def test_garbage_bearer_token_gets_a_plain_401_message(api: Api, token: str) -> None:
    """A malformed token says what it is not (no base64/UTF-8/JSON decoder detail)."""
    response = api.client.get("/api/v1/auth/me",
                              headers={"Authorization": f"Bearer {token}".encode("latin-1")})
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail == ("invalid token: not a token issued by this server (expected the "
                      "access_token of POST /api/v1/auth/token)")
    for leak in ("codec", "utf-8", "padding", "segments", "0x"):
        assert leak not in detail


def test_expired_token_says_so(api: Api) -> None:
    secret = api.ctx.settings.jwt_secret.get_secret_value()
    token = jwt.encode(_claims(api, exp=time.time() - 5), secret, algorithm="HS256")
    response = api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid token: the token has expired; log in again"
