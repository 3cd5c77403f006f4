"""Sign-in limits, per account and per client address (docs: README, "Accounts").

After MAX_PER_EMAIL failures for one email, or MAX_PER_ADDRESS from one address, within WINDOW,
sign-ins are refused (429) until the oldest of them leaves the window, the right password too.
The login page and POST /api/token both go through here.
"""

import ipaddress
import re
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from .models import ADDRESS_MAX_LENGTH, EMAIL_MAX_LENGTH, SignInFailure

WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 5
MAX_PER_ADDRESS = 20
TOO_MANY = "Too many failed sign-ins; try again in 15 minutes"
# What the database cannot store (PostgreSQL refuses NUL), dropped from the counted email.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def client_address(request: HttpRequest) -> str:
    """The client as nginx saw it: the last X-Forwarded-For entry (nginx appends its peer),
    else the peer itself. Entries before the last are the client's own say, never trusted."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
    for candidate in (forwarded, request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(candidate))[:ADDRESS_MAX_LENGTH]
        except ValueError:
            continue
    return ""


def email_key(email: str) -> str:
    """The email as failures are counted: as accounts store it, cut to the column's length."""
    return UNSTORABLE.sub("", email).strip().lower()[:EMAIL_MAX_LENGTH]


def is_limited(email: str, address: str) -> bool:
    recent = SignInFailure.objects.filter(failed_at__gte=timezone.now() - WINDOW)
    return (
        recent.filter(email=email_key(email)).count() >= MAX_PER_EMAIL
        or recent.filter(address=address).count() >= MAX_PER_ADDRESS
    )


def record_failure(email: str, address: str) -> None:
    now = timezone.now()
    SignInFailure.objects.filter(failed_at__lt=now - WINDOW).delete()  # prune as we go
    SignInFailure.objects.create(email=email_key(email), address=address, failed_at=now)


def clear_failures(email: str) -> None:
    """A successful sign-in forgives the account's failures (not the address's)."""
    SignInFailure.objects.filter(email=email_key(email)).delete()
