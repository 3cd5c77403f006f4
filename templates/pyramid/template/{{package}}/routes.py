"""URL dispatch: every route and the static view, in one place."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    # nginx serves /static/ itself in production; this view serves it under pserve and tests.
    config.add_static_view("static", "static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("greeting", "/api/greeting")
    config.add_route("healthz", "/healthz")
