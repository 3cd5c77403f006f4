"""The accounts API: POST /api/users, POST /api/token (OAuth2's password flow), GET /api/users/me.

JSON in and out, like /api/items (whose body parsing and errors these share), and every
hostile input is a 4xx. Clients authenticate with access tokens (tokens.py), never cookies.
"""

from typing import Any

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from ..items.views import UNSTORABLE, BadBody, JsonView, json_error, json_object
from . import limits
from .models import EMAIL_MAX_LENGTH
from .tokens import LIFETIME, bearer_user, issue_token
from .validators import MAX_PASSWORD_LENGTH

INCORRECT = "Incorrect email or password"


def unauthorized(message: str) -> JsonResponse:
    response = json_error(401, message)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def account_json(user: Any) -> dict[str, int | str]:
    return {"id": user.pk, "email": user.email}


def text_field(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> str:
    """A required JSON string field that the database can store; problems go to errors."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        errors[name] = ["This field is required and must be a JSON string."]
        return ""
    if UNSTORABLE.search(value):
        errors[name] = ["Must not contain NUL characters or lone surrogates."]
        return ""
    return value


class UsersView(JsonView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            data = json_object(request)
        except BadBody as error:
            return json_error(error.status, str(error))
        errors: dict[str, list[str]] = {}
        email = text_field(data, "email", errors).strip().lower()
        password = text_field(data, "password", errors)
        if email:
            try:
                if len(email) > EMAIL_MAX_LENGTH:
                    raise ValidationError("Enter a valid email address.")
                validate_email(email)
            except ValidationError as error:
                errors["email"] = error.messages
        User = get_user_model()
        if password and "email" not in errors:
            try:
                password_validation.validate_password(password, User(email=email))
            except ValidationError as error:
                errors["password"] = error.messages
        if errors:
            return json_error(422, "the account is not valid", fields=errors)
        try:
            with transaction.atomic():
                if User.objects.filter(email=email).exists():
                    raise IntegrityError
                user = User.objects.create_user(email=email, password=password)
        except IntegrityError:  # taken, now or by a concurrent request
            return json_error(409, "an account with this email exists")
        return JsonResponse(account_json(user), status=201)


@method_decorator(sensitive_post_parameters("password"), "post")
class TokenView(JsonView):
    """OAuth2's password grant: form-encoded username (the email) and password."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            form = request.POST
        except SuspiciousOperation:  # past Django's limits on the body's size or fields
            return json_error(413, "the body is too large or has too many fields")
        email, password = form.get("username", ""), form.get("password", "")
        if not email or not password:
            return json_error(400, "username and password are required")
        if form.get("grant_type", "password") != "password":
            return json_error(400, "unsupported_grant_type")
        address = limits.client_address(request)
        if limits.is_limited(email, address):
            response = json_error(429, limits.TOO_MANY)
            response["Retry-After"] = str(int(limits.WINDOW.total_seconds()))
            return response
        user = None
        if len(password) <= MAX_PASSWORD_LENGTH and not UNSTORABLE.search(email):
            user = authenticate(request, username=email, password=password)
        if user is None:
            limits.record_failure(email, address)
            return unauthorized(INCORRECT)
        limits.clear_failures(email)
        token = issue_token(user)
        response = JsonResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(LIFETIME.total_seconds()),
            }
        )
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class MeView(JsonView):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        user = bearer_user(request)
        if user is None:
            return unauthorized("a valid bearer token is required")
        return JsonResponse(account_json(user))
