from typing import Self

from django.db import models
from django.urls import reverse


class PageQuerySet(models.QuerySet):
    def published(self) -> Self:
        return self.filter(published=True)


class Page(models.Model):
    """A simple content page, written in the admin and shown at /pages/<slug>/."""

    title = models.CharField(max_length=200)
    # The admin renders help texts as HTML, so no <placeholder> in them: it would vanish.
    slug = models.SlugField(
        unique=True, help_text="The end of the page's address: about-us for /pages/about-us/"
    )
    body = models.TextField(blank=True)
    published = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pages:detail", kwargs={"slug": self.slug})
