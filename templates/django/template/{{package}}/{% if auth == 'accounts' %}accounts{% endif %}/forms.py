"""Django's auth forms, labelled as on every framework's generated site (Email, Password,
Confirm password) and with the sign-in limits (limits.py) in the sign-in form."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError

from ..users.models import User, normalize_email
from . import limits

INCORRECT = "Incorrect email or password"


class PlainLabels:
    """Labels as written, without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def email_input() -> forms.EmailInput:
    return forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})


class SignUpForm(PlainLabels, auth_forms.BaseUserCreationForm):
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Password", label2="Confirm password"
    )

    class Meta:
        model = User
        fields = ("email",)
        labels = {"email": "Email"}
        widgets = {"email": email_input()}

    def clean_email(self) -> str:
        # Stored in lower case, so the unique check that follows ignores case too.
        return normalize_email(self.cleaned_data["email"])


class LimitedSignIn:
    """An AuthenticationForm that keeps the sign-in limits: refused while the email or the
    client address is over them, a failure counted, the email's failures forgiven on success."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": INCORRECT,
        "rate_limited": limits.TOO_MANY,
    }

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        if email is None or not self.cleaned_data.get("password"):
            return super().clean()  # a missing field: its own error, no sign-in attempt
        address = limits.client_address(self.request)
        if limits.is_limited(email, address):
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        try:
            cleaned = super().clean()
        except ValidationError:
            limits.record_failure(email, address)
            raise
        limits.clear_failures(email)
        return cleaned


class SignInForm(LimitedSignIn, PlainLabels, auth_forms.AuthenticationForm):
    """Email and password; the same message for an unknown email and a wrong password."""

    username = auth_forms.UsernameField(label="Email", widget=email_input())


class AdminSignInForm(LimitedSignIn, AdminAuthenticationForm):
    """The admin's sign-in, limited like the site's: staff accounts are the ones worth guessing."""


class AdminUserCreationForm(auth_forms.AdminUserCreationForm):
    """The admin's "Add user" form, with the email in place of a username."""

    class Meta:
        model = User
        fields = ("email",)


class AdminUserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ResetRequestForm(PlainLabels, auth_forms.PasswordResetForm):
    pass


class NewPasswordForm(PlainLabels, auth_forms.SetPasswordForm):
    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="Password", label2="Confirm password"
    )
