"""NiceGUI pages, one folder per person: public/, contact/, staff/, admin/.

Each module declares its routes with `@portal_page` / `@file_route` (pages/portal.py); `register_all` imports
every module once and adds the declared routes to the app.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys


def register_all() -> None:
    """Import every page module (declaring its routes) and register the routes with NiceGUI."""
    for info in pkgutil.walk_packages(__path__, prefix=f'{__name__}.'):
        cached = sys.modules.get(info.name)
        # NiceGUI's test runner clears the app's routes between tests: declare them again
        module = importlib.reload(cached) if cached is not None and info.name.count('.') > 1 \
            else importlib.import_module(info.name)
        legacy = getattr(module, 'register', None)  # TODO(issue 11): gone once every module is converted
        if callable(legacy):
            legacy()
    from .portal import ROUTES
    for route in ROUTES.values():
        route.register()


def page(path: str):  # TODO(issue 11): legacy registration, removed with the last unconverted module
    from nicegui import ui
    return ui.page(path, response_timeout=20.0)
