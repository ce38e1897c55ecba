"""What every layer may import: the settings and the translation catalogs.

`bot/` assembles the application from `handlers/` and `services/`; both of those read
their configuration and strings from here, never from `bot/`.
"""
