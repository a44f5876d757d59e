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
    for module_name in _api_modules(stack):
        module = importlib.import_module(module_name)
        document = json.loads(module.app.get_openapi_json_schema(title="x", version=version))
        for path, operations in (document.get("paths") or {}).items():
            for method, operation in operations.items():
                if (method.upper(), path) in protected:
                    operation["security"] = [{"cognitoIdToken": []}]
                paths.setdefault(path, {})[method] = operation
        schemas.update(((document.get("components") or {}).get("schemas")) or {})
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
