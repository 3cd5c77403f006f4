from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Length

# The limits of the /api/items contract (docs/data-layer.md), kept by the database too.
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
QUANTITY_MAX = 2**31 - 1


class Item(models.Model):
    """The sample resource behind /api/items."""

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    quantity = models.PositiveIntegerField(validators=[MaxValueValidator(QUANTITY_MAX)])

    class Meta:
        ordering = ["id"]
        # SQLite enforces neither VARCHAR lengths nor 32-bit integers; these checks do, everywhere.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    models.lookups.GreaterThan(Length("name"), 0),
                    models.lookups.LessThanOrEqual(Length("name"), NAME_MAX_LENGTH),
                ),
                name="items_item_name_length",
            ),
            models.CheckConstraint(
                condition=models.lookups.LessThanOrEqual(
                    Length("description"), DESCRIPTION_MAX_LENGTH
                ),
                name="items_item_description_length",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0, quantity__lte=QUANTITY_MAX),
                name="items_item_quantity_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def as_json(self) -> dict[str, int | str]:
        """The item as the API answers it."""
        return {
            "id": self.pk,
            "name": self.name,
            "description": self.description,
            "quantity": self.quantity,
        }
