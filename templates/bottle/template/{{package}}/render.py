"""Pages from the SimpleTemplate views in views/, looked up there and nowhere else."""

from pathlib import Path
from typing import Any

import bottle

VIEWS_DIR = Path(__file__).parent / "views"


def page(name: str, **values: Any) -> str:
    """The view `name` (views/<name>.tpl) rendered with values; {{ }} escapes HTML."""
    values.setdefault("user", None)
    values.setdefault("csrf_token", "")
    return bottle.template(name, template_lookup=[str(VIEWS_DIR)], **values)
