"""NiceGUI pages: layout, binding, navigation. Each module registers its routes in `register()`."""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from nicegui import ui

# NiceGUI cancels a page whose builder takes longer than its response timeout (3 s by default);
# our builders wait for the database off the event loop, so give a loaded server more room.
PAGE_BUILD_SECONDS = 20.0


def page(path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`ui.page` with the portal's build timeout."""
    return ui.page(path, response_timeout=PAGE_BUILD_SECONDS)


def register_all() -> None:
    """Import every page module and call its `register()`."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f'{__name__}.{info.name}')
        register = getattr(module, 'register', None)
        if callable(register):
            register()
