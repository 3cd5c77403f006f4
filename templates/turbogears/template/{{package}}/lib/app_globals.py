"""`tg.app_globals`: one object per application, shared by every request (TurboGears's
convention: lib/app_globals.py with a Globals class)."""


class Globals:
    """Nothing yet: put what every request shares and that is made once here."""
