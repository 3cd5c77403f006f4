"""The API root: what this is and where its documentation lives."""

from fastapi import APIRouter, Request

from ..schemas import Welcome

router = APIRouter(tags=["home"])


@router.get("/", response_model=Welcome)
async def home(request: Request) -> Welcome:
    return Welcome(
        name=request.app.title,
        version=request.app.version,
        docs=str(request.url_for("swagger_ui_html")),
        openapi=str(request.url_for("openapi")),
    )
