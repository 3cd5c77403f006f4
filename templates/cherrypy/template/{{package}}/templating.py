"""Jinja2 templates from the package's templates/ folder, escaped as HTML."""

from typing import Any

import cherrypy
from jinja2 import Environment, PackageLoader, select_autoescape

environment = Environment(
    loader=PackageLoader(__package__ or __name__.rpartition(".")[0]),
    autoescape=select_autoescape(),
)


def render(name: str, **context: Any) -> str:
    """The page `name` filled with context, and what every page shows (the request's account,
    its CSRF token), as the tools of this request set them."""
    request = cherrypy.serving.request
    for key, value in getattr(request, "template_context", {}).items():
        context.setdefault(key, value)
    return environment.get_template(name).render(**context)
