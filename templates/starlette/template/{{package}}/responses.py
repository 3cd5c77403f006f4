"""The one response class the endpoints use."""

import json
from typing import Any

from starlette import responses


class JSONResponse(responses.JSONResponse):
    """Starlette's JSONResponse, escaping non-ASCII: even a lone surrogate echoed back in an
    error (an unknown field's name, say) encodes, where UTF-8 would fail with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")
