from django.views.generic import DetailView, ListView

from .models import Page


class HomeView(ListView):
    """The home page: lists the published pages."""

    template_name = "pages/home.html"
    context_object_name = "pages"

    def get_queryset(self):
        return Page.objects.published()


class PageDetailView(DetailView):
    """One published page; drafts are a 404 until published in the admin."""

    context_object_name = "page"

    def get_queryset(self):
        return Page.objects.published()
