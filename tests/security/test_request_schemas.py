"""The served OpenAPI document says what the server accepts: a request the schema allows is not refused for a rule
the schema does not state, and one it forbids is refused."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs  # the validator schemathesis checks requests with; it reads patterns as ECMAScript does
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examsync.accounts import normalise_email
from examsync.domain.errors import InvalidRequestError
from tests.conftest import Api

# What regex engines disagree on: Python's whitespace (U+001C..U+001F, U+0085 are not ECMAScript's) and
# ECMAScript's (U+FEFF is not Python's), next to the characters an address is made of.
EMAIL_CHARACTERS = st.sampled_from(
    ["a", "Z", "0", "@", ".", "-", "é", "\x00", " ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0",
     "\u1680", "\u2000", "\u200b", "\u2028", "\u202f", "\u3000", "\ufeff", "\U0001f600"])
PARTS = st.text(EMAIL_CHARACTERS, max_size=4)
# Mostly shaped like an address (around, local @ domain . top, around), so that the edges are reached.
ADDRESSES = st.one_of(st.builds("{}{}@{}.{}{}".format, PARTS, PARTS, PARTS, PARTS, PARTS),
                      st.text(EMAIL_CHARACTERS, max_size=12))


def request_schemas(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation's JSON request body schema, by "METHOD path"."""
    found = {}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                name = body["schema"]["$ref"].rsplit("/", 1)[-1]
                found[f"{method.upper()} {path}"] = spec["components"]["schemas"][name]
    return found


def test_every_request_body_states_that_it_refuses_properties_it_does_not_name(api: Api) -> None:
    schemas = request_schemas(api.client.get("/api/v1/openapi.json").json())
    assert {"POST /api/v1/auth/signup", "POST /api/v1/auth/token", "POST /api/v1/sessions",
            "POST /api/v1/sessions/{session_id}/ops"} <= set(schemas)
    assert {name: schema.get("additionalProperties") for name, schema in schemas.items()} == {
        name: False for name in schemas}


def test_a_property_the_schema_does_not_name_is_refused_naming_it(api: Api) -> None:
    response = api.client.post("/api/v1/auth/signup", json={
        "email": "extra@example.org", "password": "long enough password", "nickname": "x"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith("nickname: ")


def test_the_served_email_pattern_accepts_exactly_what_the_server_accepts(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    email = request_schemas(spec)["POST /api/v1/auth/signup"]["properties"]["email"]
    served = jsonschema_rs.validator_for(email)

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True)
    @given(text=ADDRESSES)
    def agree(text: str) -> None:
        try:
            normalise_email(text)
            accepted = True
        except InvalidRequestError:
            accepted = False
        assert served.is_valid(text) == accepted == bool(re.search(email["pattern"], text)), repr(text)

    agree()
