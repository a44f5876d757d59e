"""Operations routes: health check, the OpenAPI document of the whole API, and Swagger UI.

The OpenAPI document (``openapi.json`` beside this file) is generated from every function's
pydantic models and routes by ``make openapi`` (``tools/generate_openapi.py``); a test fails when
it is out of date, so it always describes what is deployed.
"""

from __future__ import annotations

import portal_common  # noqa: F401 - first: defers library package inits (portal_common.lazy_packages)

# isort: split

from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from portal_common import cold_start
from portal_common.api import create_app
from portal_common.config import get_settings
from portal_common.log import get_logger
from portal_common.models import OutputModel

logger = get_logger("ops")
app = create_app(logger)
_HERE = Path(__file__).parent


class Health(OutputModel):
    """``GET /v1/health``."""

    status: str
    version: str


@app.get("/health", summary="Health check", tags=["Operations"])
def health() -> Health:
    """Answers while the function can serve requests; no dependency is called (cheap to poll)."""
    return Health(status="ok", version=get_settings().app_version)


@lru_cache(maxsize=1)
def _openapi_text() -> str:
    return (_HERE / "openapi.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _swagger_page() -> str:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import html as swagger_html

    assets = Path(swagger_html.__file__).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = _openapi_text().replace("</", "<\\/")
    return swagger_html.generate_swagger_html(spec, js, css, "", None)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    """The OpenAPI 3.1 document of every route of the API."""
    return Response(
        status_code=200, content_type="application/json", body=_openapi_text(), headers={"Cache-Control": "max-age=300"}
    )


@app.get("/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    """Swagger UI with its assets inline (works offline)."""
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=_swagger_page(),
        headers={"Cache-Control": "max-age=300"},
    )


@cold_start.settles
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway entry point."""
    return app.resolve(event, context)
