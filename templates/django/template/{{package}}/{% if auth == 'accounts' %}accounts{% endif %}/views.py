"""The account pages: Django's auth views (https://docs.djangoproject.com/en/5.2/topics/auth/default/#module-django.contrib.auth.views)
at the paths every framework's generated site shares (urls.py)."""

from typing import Any

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from . import forms


# As LoginView does: no cached copy of the form, and no passwords in error reports.
@method_decorator([sensitive_post_parameters("password1", "password2"), never_cache], "dispatch")
class SignUpView(FormView):
    """Creates the account, signs it in (a new session), and goes home."""

    form_class = forms.SignUpForm
    template_name = "accounts/signup.html"

    def form_valid(self, form: forms.SignUpForm) -> HttpResponse:
        login(self.request, form.save())
        return HttpResponseRedirect("/")


class SignInView(auth_views.LoginView):
    """Django's LoginView: a new session at sign-in, and `next` only to this site."""

    form_class = forms.SignInForm
    template_name = "accounts/login.html"

    def form_invalid(self, form: forms.SignInForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
        return response


class SignOutView(auth_views.LogoutView):
    """GET asks (a link must not sign anyone out); the POST, with its CSRF token, signs out."""

    http_method_names = ["get", "post", "options"]
    template_name = "accounts/logout.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, self.template_name)


class ResetRequestView(auth_views.PasswordResetView):
    """Mails a link when an active account has the email; the same answer either way."""

    form_class = forms.ResetRequestForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_sent")


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """The mailed link: sets a new password once. An old or used link is a 400."""

    form_class = forms.NewPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if not context.get("validlink"):
            kwargs["status"] = 400
        return super().render_to_response(context, **kwargs)


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
