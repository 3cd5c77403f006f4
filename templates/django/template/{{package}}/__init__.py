"""The Django project: settings, URL routes, the WSGI/ASGI entry points and the apps."""
