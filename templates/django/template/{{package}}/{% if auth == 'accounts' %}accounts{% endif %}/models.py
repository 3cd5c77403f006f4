from django.db import models
from django.utils import timezone

# An email as long as the user model's, an address as long as IPv6's longest text form allows.
EMAIL_MAX_LENGTH = 254
ADDRESS_MAX_LENGTH = 45


class SignInFailure(models.Model):
    """One failed sign-in, kept for the limits (limits.py). In the database, not in a process's
    memory, so every gunicorn worker counts the same failures."""

    email = models.CharField(max_length=EMAIL_MAX_LENGTH, db_index=True)
    address = models.CharField(max_length=ADDRESS_MAX_LENGTH, db_index=True)
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["failed_at"]

    def __str__(self) -> str:
        return f"{self.email} from {self.address} at {self.failed_at:%Y-%m-%d %H:%M:%S}"
