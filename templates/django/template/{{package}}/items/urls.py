from django.urls import path, register_converter

from . import views
from .converters import ItemIdConverter

register_converter(ItemIdConverter, "item_id")

app_name = "items"

urlpatterns = [
    path("items", views.ItemListView.as_view(), name="list"),
    path("items/<item_id:item_id>", views.ItemDetailView.as_view(), name="detail"),
]
