"""The API documentation, offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from files in
the package (``adminui/static/vendor``, see its README for versions, licences and checksums),
never from a CDN (a closed municipal network has none), and the favicon at ``/favicon.ico``.

The pages are the administration UI's (its language cookie, its CSP). FastAPI's own pages
(``get_swagger_ui_html``) start Swagger UI from an inline ``<script>``, which the CSP
(``script-src 'self'``) refuses: these pages start it from ``/static/apidocs.js`` instead.
ReDoc creates ``<style>`` elements (styled-components) and a search worker from a ``blob:``
URL: ``/redoc`` alone gets a per-request style nonce, which ReDoc puts on its styles
(``nonce`` option), the hashes of the one style that takes none, and ``worker-src blob:``;
scripts stay ``'self'`` only. docs/admin-ui.md ("API documentation") has the whole story.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from carekey.adminui import i18n
from carekey.adminui.deps import templates
from carekey.adminui.security import content_security_policy

router = APIRouter(include_in_schema=False)

OPENAPI_URL: Final = "/openapi.json"
SWAGGER_UI: Final = "/static/vendor/swagger-ui-5.35.0"
REDOC: Final = "/static/vendor/redoc-2.5.4"
FAVICON: Final = Path(__file__).parents[1] / "adminui" / "static" / "favicon.svg"


# The one <style> of the ReDoc bundle that does not take the nonce: perfect-scrollbar's CSS,
# which the bundle adds to the page as it loads (an empty element first, then its text). Both
# states by hash; with another ReDoc, Chromium's console names the new hash if it changed.
REDOC_STYLE_HASHES: Final = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style>
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar.css
)


def redoc_csp(style_nonce: str) -> str:
    """The CSP of ``/redoc``: the pages' own, with ReDoc's styles admitted (its styled
    components by the nonce, perfect-scrollbar's by hash) and its search worker (``blob:``);
    nothing more for scripts."""
    return content_security_policy(
        styles=(f"'nonce-{style_nonce}'", *REDOC_STYLE_HASHES), workers="blob:"
    )


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, from the package's own files."""
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "apidocs/swagger.html",
        {
            "lang": i18n.current_language(),
            "openapi_url": OPENAPI_URL,
            "swagger_js": f"{SWAGGER_UI}/swagger-ui-bundle.js",
            "swagger_css": f"{SWAGGER_UI}/swagger-ui.css",
        },
    )
    return response  # the pages' CSP (server.admin_app.LanguageAndSession), unchanged


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over ``/openapi.json``, from the package's own file."""
    nonce = secrets.token_urlsafe(18)
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "apidocs/redoc.html",
        {
            "lang": i18n.current_language(),
            "openapi_url": OPENAPI_URL,
            "redoc_js": f"{REDOC}/redoc.standalone.js",
            "style_nonce": nonce,
        },
    )
    response.headers["Content-Security-Policy"] = redoc_csp(nonce)
    return response


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The favicon (an SVG) where browsers look for it by default, so none logs a 404."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )
