"""/api/items, the sample JSON API: list, create, read and delete items.

Every answer is JSON, errors included, and hostile input is a 4xx, never a 500. Reads are
public; writes need `Authorization: Bearer <DJANGO_API_TOKEN>`.
"""

import hmac
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .converters import MAX_ID
from .models import Item

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# PostgreSQL cannot store NUL; UTF-8 cannot encode a lone surrogate (json.loads makes them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What each field of a request body must be, in JSON terms: a bool is no quantity.
FIELD_TYPES: dict[str, type] = {"name": str, "description": str, "quantity": int}
REQUIRED_FIELDS = ("name", "quantity")

ViewFunction = Callable[..., HttpResponse]


def json_error(status: int, message: str, **details: Any) -> JsonResponse:
    return JsonResponse({"error": message, **details}, status=status)


def has_api_token(request: HttpRequest) -> bool:
    """Whether the request carries the API token; compared as bytes, in constant time."""
    expected = settings.API_TOKEN.encode()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not token.isascii():
        return False
    return hmac.compare_digest(token.encode("ascii"), expected)


def bearer_token_required(view: ViewFunction) -> ViewFunction:
    """401 unless the request has the API token; checked before the view reads the body."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_api_token(request):
            response = json_error(401, "a valid bearer token is required")
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        return view(request, *args, **kwargs)

    return checked


class BadBody(Exception):
    """A request body that is not one JSON object of an acceptable size."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        body = request.body
    except RequestDataTooBig:  # past DATA_UPLOAD_MAX_MEMORY_SIZE: Django will not read it
        body = None
    if body is None or len(body) > MAX_BODY_BYTES:
        raise BadBody(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    # RecursionError: nested deeper than the parser goes. Named, so ruff formats the clause the
    # same for every Python target (for 3.14 it drops the parentheses of an unnamed one).
    except (ValueError, RecursionError) as error:
        raise BadBody(400, "the body is not valid JSON") from error
    if not isinstance(data, dict):
        raise BadBody(400, "the body must be a JSON object")
    return data


def item_from(data: dict[str, Any]) -> Item:
    """An unsaved Item from a request body; ValidationError lists what is wrong, by field.

    JSON types are checked strictly first (the model's fields would turn "5" or true into 5),
    then the model's own validation checks lengths, ranges and constraints. Unknown fields
    are ignored, as Django's forms ignore them.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field, kind in FIELD_TYPES.items():
        if field not in data:
            if field in REQUIRED_FIELDS:
                errors[field] = ["This field is required."]
            continue
        value = data[field]
        if type(value) is not kind:
            errors[field] = [f"Must be a JSON {'string' if kind is str else 'integer'}."]
        elif isinstance(value, str) and UNSTORABLE.search(value):
            errors[field] = ["Must not contain NUL characters or lone surrogates."]
        else:
            values[field] = value
    item = Item(**values)
    try:
        item.full_clean(exclude=list(errors))
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return item


def query_int(request: HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query parameter from low to high; ValueError says what is accepted."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    if re.fullmatch("[0-9]{1,20}", raw) and low <= int(raw) <= high:
        return int(raw)
    raise ValueError(f"{name} must be an integer from {low} to {high}")


def item_not_found() -> JsonResponse:
    return json_error(404, "no such item")


# The API authenticates with a bearer token, never with cookies, so a cross-site request cannot
# borrow a user's session: CSRF protection has nothing to protect here.
@method_decorator(csrf_exempt, name="dispatch")
class JsonView(View):
    """A view whose every answer is JSON, the 405 for an unknown method too."""

    http_method_names = ["get", "head", "post", "delete"]

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = json_error(405, "method not allowed")
        response["Allow"] = ", ".join(self._allowed_methods())
        return response


class ItemListView(JsonView):
    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            offset = query_int(request, "offset", default=0, low=0, high=MAX_ID)
            limit = query_int(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        except ValueError as error:
            return json_error(400, str(error))
        items = Item.objects.order_by("id")[offset : offset + limit]
        return JsonResponse([item.as_json() for item in items], safe=False)

    @method_decorator(bearer_token_required)
    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            item = item_from(json_object(request))
        except BadBody as error:
            return json_error(error.status, str(error))
        except ValidationError as error:
            return json_error(400, "the item is not valid", fields=error.message_dict)
        item.save()
        response = JsonResponse(item.as_json(), status=201)
        response["Location"] = reverse("items:detail", args=[item.pk])
        return response


class ItemDetailView(JsonView):
    def get(self, request: HttpRequest, item_id: int) -> HttpResponse:
        item = Item.objects.filter(pk=item_id).first()
        if item is None:
            return item_not_found()
        return JsonResponse(item.as_json())

    @method_decorator(bearer_token_required)
    def delete(self, request: HttpRequest, item_id: int) -> HttpResponse:
        deleted, _ = Item.objects.filter(pk=item_id).delete()
        if not deleted:
            return item_not_found()
        return HttpResponse(status=204)
