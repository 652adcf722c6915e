"""The JSON API's OpenAPI description (qrauth/openapi.json), and a check
that a real response is one it describes: the operation, the status it
lists, the content type and the body's schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

import qrauth

DOCUMENT = json.loads((Path(qrauth.__file__).parent / "openapi.json").read_text())
_REGISTRY = referencing.Registry().with_resource(
    "urn:qrauth-openapi", DRAFT202012.create_resource(DOCUMENT)
)


def described(response, path: str, method: str) -> dict:
    """The JSON body of ``response``, after checking the description of
    ``method`` ``path`` (a template: "/api/approve/{auth_code}/") lists its
    status and its body matches that status's schema."""
    operation = DOCUMENT["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} does not list {status}"
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    pointer = schema["$ref"].replace("#", "urn:qrauth-openapi#")
    validator = jsonschema.Draft202012Validator({"$ref": pointer}, registry=_REGISTRY)
    validator.validate(body)
    return body
