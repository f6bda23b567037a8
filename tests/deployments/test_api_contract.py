"""The API against its own OpenAPI schema: every integer and number a request carries is
bounded (declared and enforced: huge and negative values are 4xx, never 5xx), and every
error response, whichever layer made it (validation, `ApiError`, Starlette's 404/405,
the body limit), has the one documented shape (`deployments.ingress.errors.ErrorBody`)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from deployments.ingress.roles import Role
from tests.deployments.conftest import Api, open_api
from tests.deployments.test_route_roles import PROTECTED

Json = dict[str, Any]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, chdb_warehouse: Any) -> Iterator[Api]:
    api = open_api(tmp_path_factory.mktemp("contract"), chdb_warehouse,
                   rate_limit_per_minute=100_000, max_body_bytes=100_000)
    for role in Role:
        api.make_user(role.value, role)
    yield api
    api.client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def schema(api: Api) -> Json:
    return dict(api.client.app.openapi())  # type: ignore[attr-defined]


def resolve(schema: Json, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def numeric_fields(schema: Json, node: Any, path: tuple[Any, ...] = ()) -> Iterator[
        tuple[tuple[Any, ...], Json]]:
    """(where, schema) of every integer/number in a request schema; where: keys and list
    indexes (0) into the body; dict values are at the key "k"."""
    node = resolve(schema, node)
    if not isinstance(node, dict):
        return
    if node.get("type") in ("integer", "number"):
        yield path, node
    for option in node.get("anyOf", []) + node.get("allOf", []) + node.get("oneOf", []):
        yield from numeric_fields(schema, option, path)
    for name, prop in node.get("properties", {}).items():
        yield from numeric_fields(schema, prop, (*path, name))
    if isinstance(node.get("items"), dict):
        yield from numeric_fields(schema, node["items"], (*path, 0))
    if isinstance(node.get("additionalProperties"), dict):
        yield from numeric_fields(schema, node["additionalProperties"], (*path, "k"))


def operations(schema: Json) -> Iterator[tuple[str, str, Json]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def request_numbers(schema: Json, operation: Json) -> Iterator[tuple[str, tuple[Any, ...],
                                                                     Json]]:
    """(where: 'query'/'path'/'json'/'form', field path, schema) of every number a request
    of `operation` carries."""
    for parameter in operation.get("parameters", []):
        parameter = resolve(schema, parameter)
        for _, node in numeric_fields(schema, parameter["schema"]):
            yield parameter["in"], (parameter["name"],), node
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        where = "json" if media == "application/json" else "form"
        for field, node in numeric_fields(schema, content["schema"]):
            yield where, field, node


def bounded(node: Json) -> bool:
    if "enum" in node or "const" in node:
        return True
    return (("minimum" in node or "exclusiveMinimum" in node)
            and ("maximum" in node or "exclusiveMaximum" in node))


def test_every_number_in_a_request_is_bounded(schema: Json) -> None:
    unbounded = [f"{method} {path} {where}:{'.'.join(map(str, field))}"
                 for method, path, operation in operations(schema)
                 for where, field, node in request_numbers(schema, operation)
                 if not bounded(node)]
    assert not unbounded, unbounded
    # The sample covers what the attack found: the offset of the user list.
    found = {(path, field) for _, path, op in operations(schema)
             for _, field, _ in request_numbers(schema, op)}
    assert ("/api/v1/users", ("offset",)) in found


def error_schema(schema: Json, operation: Json | None, status: int) -> Json:
    """The schema the OpenAPI document gives for an error `status` of `operation` (the
    shared Error response where no operation matched: unknown path, wrong method)."""
    responses = operation["responses"] if operation else {}
    documented = (responses.get(str(status)) or responses.get(f"{status // 100}XX")
                  or responses.get("default")
                  or schema["components"]["responses"]["Error"])
    documented = resolve(schema, documented)
    return dict(documented["content"]["application/json"]["schema"])


def check_error(schema: Json, operation: Json | None, response: httpx.Response) -> None:
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    target = error_schema(schema, operation, response.status_code)
    validator = Draft202012Validator({"allOf": [target], "components": schema["components"]})
    problems = [e.message for e in validator.iter_errors(response.json())]
    assert not problems, (response.request.method, str(response.request.url),
                          response.status_code, response.json(), problems)


HUGE_INTS = (2**63, -(2**63) - 1, 10**30, -1)
HUGE_NUMBERS = (1e308, -1e308, float("inf"), float("nan"), -1.0)


def out_of_range(node: Json) -> list[Any]:
    values: list[Any] = list(HUGE_INTS if node.get("type") == "integer" else HUGE_NUMBERS)
    if "enum" in node:
        values = [v for v in values if v not in node["enum"]]
    for key in ("maximum", "exclusiveMaximum"):
        if key in node:
            values.append(int(node[key]) + 1 if node.get("type") == "integer"
                          else node[key] * 2 + 1)
    return values


def set_at(body: Any, field: tuple[Any, ...], value: Any) -> Any:
    """`body` with `value` at `field` (made where missing)."""
    body = copy.deepcopy(body) if body is not None else {}
    node = body
    for key, after in zip(field, (*field[1:], None), strict=True):
        if after is None:
            node[key] = value
            break
        empty: Any = [{}] if isinstance(after, int) else {}
        if isinstance(node, list):
            node = node[key]
        else:
            node = node.setdefault(key, empty)
            if isinstance(node, list) and not node:
                node.append({})
    return body


def concrete(template: str, known: str | None, name: str | None = None,
             value: Any = None) -> str:
    """A path for `template`: the parameters of the known concrete path `known` (the
    route × role table's), with `name` set to `value`."""
    names = re.findall(r"{(\w+)}", template)
    values: dict[str, Any] = dict.fromkeys(names, "x")
    if known:
        pattern = re.escape(template)
        for n in names:
            pattern = pattern.replace(re.escape("{" + n + "}"), f"(?P<{n}>[^/]+?)")
        match = re.fullmatch(pattern, known.split("?")[0])
        if match:
            values.update(match.groupdict())
    if name is not None:
        values[name] = value
    return template.format(**values)


def examples() -> dict[tuple[str, str], tuple[str, Any]]:
    return {(method, template): (path, body) for method, template, _, path, body in PROTECTED}


def fuzz_requests(schema: Json, values: Callable[[Json], list[Any]] = out_of_range,
                  ) -> Iterator[tuple[str, str, Json, dict[str, Any]]]:
    """(method, template, operation, request kwargs) with one number out of range each
    (each of ``values(node)`` in turn)."""
    known = examples()
    for method, template, operation in operations(schema):
        path, body = known.get((method, template), (template, None))
        for where, field, node in request_numbers(schema, operation):
            for value in values(node):
                kwargs: dict[str, Any] = {"url": concrete(template, path)}
                if where == "query":
                    kwargs["params"] = {field[0]: str(value)}
                elif where == "path":
                    kwargs["url"] = concrete(template, path, field[0], value)
                elif where == "json":
                    # json.dumps writes inf/nan as Infinity/NaN, as a hostile client may
                    kwargs["content"] = json.dumps(set_at(body, field, value)).encode()
                    kwargs["headers"] = {"Content-Type": "application/json"}
                else:
                    kwargs["data"] = {str(field[0]): str(value)}
                    kwargs["files"] = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
                yield method, template, operation, kwargs


def test_out_of_range_numbers_are_4xx_in_the_error_shape(api: Api, schema: Json) -> None:
    admin = api.bearer("admin")
    tried = 0
    for method, template, operation, kwargs in fuzz_requests(schema):
        headers = {**admin, **kwargs.pop("headers", {})}
        response = api.client.request(method, headers=headers, **kwargs)
        tried += 1
        assert 400 <= response.status_code < 500, (method, template, kwargs, response.text)
        check_error(schema, operation, response)
    assert tried >= 40  # every numeric field of the API, several values each


def test_non_finite_numbers_are_refused_as_not_finite(api: Api, schema: Json) -> None:
    """NaN and infinity fail every comparison, so a range check would call NaN "greater
    than 520": the message must say the number must be finite."""
    admin = api.bearer("admin")

    def non_finite(node: Json) -> list[Any]:
        return [float("nan"), float("inf")] if node.get("type") == "number" else []

    tried = 0
    for method, template, operation, kwargs in fuzz_requests(schema, non_finite):
        headers = {**admin, **kwargs.pop("headers", {})}
        response = api.client.request(method, headers=headers, **kwargs)
        tried += 1
        assert response.status_code == 422, (method, template, kwargs, response.text)
        assert "finite number" in response.json()["detail"], (method, template, response.text)
        check_error(schema, operation, response)
    assert tried >= 20


def test_clv_horizon_nan_says_finite(api: Api) -> None:
    response = api.client.get("/api/v1/analytics/customers/4/clv",
                              params={"horizon_weeks": "nan"}, headers=api.bearer("admin"))
    assert response.status_code == 422
    assert response.json()["detail"] == "query.horizon_weeks: Input should be a finite number"


def test_the_attack_offset_is_a_422(api: Api, schema: Json) -> None:
    response = api.client.get("/api/v1/users?offset=9223372036854775808",
                              headers=api.bearer("admin"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["loc"] == ["query", "offset"]
    assert "offset" in body["detail"]
    check_error(schema, schema["paths"]["/api/v1/users"]["get"], response)


def test_the_schema_documents_one_error_shape(schema: Json) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    text = repr(schema)
    assert "HTTPValidationError" not in text
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        assert "4XX" in responses and "5XX" in responses, (method, path)
        for status in responses:
            if status[0] in "45":
                assert error_schema(schema, operation, int(status.replace("XX", "00"))) == {
                    "$ref": "#/components/schemas/ErrorBody"}, (method, path, status)


def test_errors_from_every_layer_match_the_schema(api: Api, schema: Json) -> None:
    """A sample pass over every operation: anonymous (401), a viewer on what viewers may
    not do (403), an empty body or no parameters (422), malformed JSON (422); plus what
    no route answers: unknown path (404), wrong method (405), too large a body (413), an
    ApiError (404 for an unknown job)."""
    viewer = api.bearer("viewer")
    admin = api.bearer("admin")
    known = examples()
    seen: set[int] = set()
    for method, template, operation in operations(schema):
        path, _ = known.get((method, template), (template, None))
        url = concrete(template, path)
        tries = [api.client.request(method, url)]
        if method != "GET":
            tries.append(api.client.request(method, url, headers={
                **admin, "Content-Type": "application/json"}, content=b"{not json"))
            tries.append(api.client.request(method, url, headers=admin, json=[]))
        if template != "/api/v1/auth/logout":  # would revoke the viewer's token
            tries.append(api.client.request(method, url, headers=viewer))
        for response in tries:
            if response.status_code >= 400:
                seen.add(response.status_code)
                check_error(schema, operation, response)
    admin_ops = dict(schema["paths"]["/api/v1/users"])
    assert api.client.get("/api/v1/nowhere").status_code == 404
    for response, operation in [
        (api.client.get("/api/v1/nowhere"), None),
        (api.client.put("/api/v1/users", headers=admin), None),
        (api.client.post("/api/v1/users", headers=admin, content=b"x" * 200_000),
         admin_ops["post"]),
        (api.client.get("/api/v1/jobs/nope", headers=admin),
         schema["paths"]["/api/v1/jobs/{job_id}"]["get"]),
    ]:
        seen.add(response.status_code)
        check_error(schema, operation, response)
    assert {401, 403, 404, 405, 413, 422} <= seen


def test_file_responses_are_documented_as_their_content_type(schema: Json) -> None:
    """The routes answering bytes document that content type for their 200, not FastAPI's
    default application/json (the fuzzer's content-type check found /metrics)."""
    expected = {
        "/metrics": "text/plain",
        "/api/v1/ocr/documents/{document_id}/pages/{page}.png": "image/png",
        "/api/v1/ocr/documents/{document_id}/searchable.pdf": "application/pdf",
        "/api/v1/analytics/reports/{report_id}.html": "text/html",
        "/api/v1/analytics/reports/{report_id}.pdf": "application/pdf",
    }
    for path, media in expected.items():
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == [media], (path, content)


def test_echo_message_fits_in_a_url_any_proxy_forwards(api: Api, schema: Json) -> None:
    """At most 1,000 characters: 12 kB percent-encoded in the worst case (10,000 made
    120 kB URLs, more than HTTP clients or HAProxy take)."""
    admin = api.bearer("admin")
    widest = "\U0010ffff" * 1000
    response = api.client.get("/api/v1/echo", params={"message": widest}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["echo"] == widest
    too_long = api.client.get("/api/v1/echo", params={"message": "x" * 1001}, headers=admin)
    assert too_long.status_code == 422
    check_error(schema, schema["paths"]["/api/v1/echo"]["get"], too_long)
    parameter = next(p for p in schema["paths"]["/api/v1/echo"]["get"]["parameters"]
                     if p["name"] == "message")
    assert parameter["schema"]["maxLength"] == 1000


def job_count(api: Api) -> int:
    return int(api.run(api.ctx.stores.database.fetchval, "SELECT count(*) FROM jobs"))


@pytest.mark.parametrize("body", [
    {"as_of": "9999-99-99"}, {"as_of": "2021-02-30"}, {"as_of": "1899-12-31"},
    {"calibration_end": "2201-01-01"}, {"as_of": "0000-00-00"},
])
def test_report_dates_are_calendar_dates_checked_before_any_job(
        api: Api, schema: Json, body: Json) -> None:
    before = job_count(api)
    for path in ("/api/v1/analytics/reports", "/api/v1/analytics/schedules"):
        response = api.client.post(path, headers=api.bearer("admin"),
                                   json={**body, "name": "weekly"})
        assert response.status_code == 422, response.text
        assert "date" in response.json()["detail"], response.text
        check_error(schema, schema["paths"][path]["post"], response)
    assert job_count(api) == before


@pytest.mark.parametrize("as_of", ["2021-13-01", "1800-01-01", "2020-02-30"])
def test_query_dates_are_calendar_dates(api: Api, schema: Json, as_of: str) -> None:
    for path in ("/api/v1/analytics/segments", "/api/v1/analytics/customers/c1/segment"):
        response = api.client.get(path, params={"as_of": as_of},
                                  headers=api.bearer("admin"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", "as_of"]
