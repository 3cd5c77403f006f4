"""The account pages, at the same paths in every framework's generated site (no trailing
slashes)."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup", views.SignUpView.as_view(), name="signup"),
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", views.SignOutView.as_view(), name="logout"),
    path("password/reset", views.ResetRequestView.as_view(), name="password_reset"),
    path("password/reset/sent", views.ResetSentView.as_view(), name="password_reset_sent"),
    path("password/reset/done", views.ResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "password/reset/<uidb64>/<token>",
        views.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
