"""scaffold: recommend a Python web framework and generate a production-ready project."""

__version__ = "0.4.0"
