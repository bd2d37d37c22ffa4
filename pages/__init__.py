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
        if cached is not None and info.name.count('.') > 1:
            importlib.reload(cached)  # NiceGUI's test runner clears the app's routes between tests: declare again
        else:
            importlib.import_module(info.name)
    from .portal import ROUTES
    for route in ROUTES.values():
        route.register()

