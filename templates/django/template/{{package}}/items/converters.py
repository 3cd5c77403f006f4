"""The path converter for item ids: https://docs.djangoproject.com/en/5.2/topics/http/urls/#registering-custom-path-converters"""

# The primary key is a BIGINT: a larger id names no item, and the database would refuse it.
MAX_ID = 2**63 - 1


class ItemIdConverter:
    """A decimal id that fits the primary key. Anything else matches no route: a 404."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)  # ValueError past 4300 digits, which also means no match
        if number > MAX_ID:
            raise ValueError(f"{value} is past the largest id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
