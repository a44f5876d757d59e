"""``make openapi``: one OpenAPI 3.1 document for the whole API, from every function's resolver.

Each API function builds its routes and pydantic models with Powertools; this merges their
documents, marks the routes that template.yaml protects with the Cognito bearer scheme, and
writes ``functions/ops/openapi.json`` (served at ``/v1/openapi.json`` and ``/v1/docs``). A test
regenerates it and fails when the committed file is stale.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

from local.cfn import Stack
from local.lambda_runtime import add_function_paths

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "functions" / "ops" / "openapi.json"


def _api_modules(stack: Stack) -> list[str]:
    """The handler module of every function that serves routes (the layer and the function
    folders put on ``sys.path``, as in Lambda)."""
    specs = stack.functions().values()
    add_function_paths(specs)
    return sorted({spec.module for spec in specs if spec.routes})


# Powertools' own validation answer (422), which create_app never sends: its schemas go.
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _can_refuse(parameter: dict[str, Any]) -> bool:
    """Whether validating ``parameter`` can fail (a path segment with no constraint never does)."""
    schema = parameter.get("schema") or {}
    constrained = set(schema) - {"type", "title", "description"}
    return parameter.get("in") != "path" or bool(constrained) or schema.get("type", "string") != "string"


def _complete(operation: dict[str, Any], *, protected: bool) -> None:
    """What every route of a kind answers, added once here (the routes declare their own problems
    with ``portal_common.api.problems``): ``400`` for any input, ``413``/``415`` for a body, ``401``
    and the bearer scheme where template.yaml protects the route; ``Accept-Language`` everywhere.
    Powertools' default ``422`` goes (create_app answers ``400 VALIDATION_FAILED`` instead), and a
    ``204`` has no content. Each operation id is its handler's name (what generated clients call)."""
    from portal_common.api import problems  # on sys.path once the function folders are

    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    for status, response in responses.items():
        if status == "204" or not response.get("content"):
            response.pop("content", None)
    has_body = "requestBody" in operation
    implied = []
    if has_body or any(_can_refuse(parameter) for parameter in operation.get("parameters", [])):
        implied.append(400)
    if has_body:
        implied += [413, 415]
    if protected:
        operation["security"] = [{"cognitoIdToken": []}]
        implied.append(401)
    for implied_status, implied_response in problems(*implied).items():
        responses.setdefault(str(implied_status), implied_response)
    operation["responses"] = dict(sorted(responses.items()))
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header":  # Powertools lower-cases them; say them as the contract does
            parameter["name"] = "-".join(word.capitalize() for word in parameter["name"].split("-"))
    operation["parameters"] = [
        *operation.get("parameters", []),
        {"$ref": "#/components/parameters/AcceptLanguage"},
    ]


def build_document() -> dict[str, Any]:
    """The merged OpenAPI document (deterministic: same code, same bytes)."""
    stack = Stack()
    # The handlers validate their settings at import: give them the template's environment.
    for name, value in {"AWS_DEFAULT_REGION": stack.region, **stack.environment()}.items():
        os.environ.setdefault(name, value)
    version = "1.0.0"
    protected = {(r.method, r.path) for r in stack.routes() if r.authorized}
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for module_name in _api_modules(stack):
        module = importlib.import_module(module_name)
        document = json.loads(module.app.get_openapi_json_schema(title="x", version=version))
        for path, operations in (document.get("paths") or {}).items():
            for method, operation in operations.items():
                _complete(operation, protected=(method.upper(), path) in protected)
                # Powertools names an operation <handler><path>_<method>: the handler's name is enough.
                suffix = re.sub(r"\W", "_", path) + "_" + method
                operation["operationId"] = operation["operationId"].removesuffix(suffix)
                if operation["operationId"] in operation_ids:
                    raise ValueError(f"two routes are handled by functions named {operation['operationId']}")
                operation_ids.add(operation["operationId"])
                paths.setdefault(path, {})[method] = operation
        schemas.update(((document.get("components") or {}).get("schemas")) or {})
    for name in _POWERTOOLS_SCHEMAS:
        schemas.pop(name, None)
    from portal_common.problems import problem_schemas

    schemas.update(problem_schemas())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Portail santé et dentaire - API des participants / Member portal API",
            "version": version,
            "description": (
                "Contract v1 of the group health and dental benefits member portal. French first: send "
                "`Accept-Language: en-CA` for English. Errors are RFC 9457 problems with a stable `code`."
            ),
        },
        "servers": [{"url": "/v1"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "parameters": {
                "AcceptLanguage": {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "description": "fr-CA (default when absent or unknown) or en-CA: the language of every text "
                    "of the answer, problems included (Content-Language says which).",
                    "schema": {"type": "string", "examples": ["fr-CA", "en-CA"]},
                }
            },
            "securitySchemes": {
                "cognitoIdToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The idToken returned by POST /v1/auth/login/verify.",
                }
            },
        },
    }


def render() -> str:
    """The document as the committed file's text."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
