"""Pages from the SimpleTemplate files in templates/, looked up there and nowhere else."""

from pathlib import Path
from typing import Any

import bottle

TEMPLATES_DIR = Path(__file__).parent / "templates"


def page(name: str, **values: Any) -> str:
    """templates/<name>.html rendered with values; SimpleTemplate's inline expressions escape
    HTML."""
    values.setdefault("user", None)
    values.setdefault("csrf_token", "")
    return bottle.template(name, template_lookup=[str(TEMPLATES_DIR)], **values)
