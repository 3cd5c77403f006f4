from django.urls import path

from . import api

app_name = "accounts_api"

urlpatterns = [
    path("users", api.UsersView.as_view(), name="users"),
    path("users/me", api.MeView.as_view(), name="me"),
    path("token", api.TokenView.as_view(), name="token"),
]
