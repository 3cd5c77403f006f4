"""The JSON API, under /api."""

from typing import Any

from flask import Blueprint, abort, request

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/greeting")
def greeting() -> dict[str, Any]:
    name = request.args.get("name", "world")
    return {"message": f"Hello, {name}!"}


@bp.post("/greeting")
def create_greeting() -> tuple[dict[str, Any], int]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        abort(400, description='Send a JSON object like {"name": "Ada"}.')
    name = payload["name"].strip()
    if not 1 <= len(name) <= 100:
        abort(422, description="name must be 1 to 100 characters.")
    return {"message": f"Hello, {name}!"}, 201
