"""The interactive API docs: Swagger UI from this package's static files, not from a CDN.

FastAPI's default /docs loads Swagger UI from cdn.jsdelivr.net: a blank page offline, and a
third-party origin a Content-Security-Policy has to allow. static/swagger-ui/ holds the files
of the swagger-ui-dist release (see its README.md); nginx serves them with the other static
files. https://fastapi.tiangolo.com/how-to/custom-docs-ui-assets/
"""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def static_path(request: Request, path: str) -> str:
    """The path of a static file, under the app's root path if it is mounted below one."""
    return request.url_for("static", path=path).path


@router.get("/docs")
async def swagger_ui_html(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.url_for("openapi").path,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=static_path(request, "swagger-ui/swagger-ui-bundle.js"),
        swagger_css_url=static_path(request, "swagger-ui/swagger-ui.css"),
        swagger_favicon_url=static_path(request, "favicon.svg"),
        oauth2_redirect_url=request.url_for("swagger_ui_redirect").path,
    )


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    """Where Swagger UI's "Authorize" returns after an OAuth2 login, if you add one."""
    return get_swagger_ui_oauth2_redirect_html()
