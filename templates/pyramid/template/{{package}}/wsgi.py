"""The WSGI app gunicorn serves: production.ini's [app:main], logging set up as it says."""

from pathlib import Path

from pyramid.paster import get_app, setup_logging

# production.ini sits at the project root, next to this package, wherever the checkout lives.
INI_FILE = str(Path(__file__).resolve().parent.parent / "production.ini")

setup_logging(INI_FILE)
application = get_app(INI_FILE, "main")
