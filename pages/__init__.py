"""NiceGUI pages: layout, binding, navigation. Each module registers its routes in `register()`."""
from __future__ import annotations

import importlib
import pkgutil


def register_all() -> None:
    """Import every page module and call its `register()`."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f'{__name__}.{info.name}')
        register = getattr(module, 'register', None)
        if callable(register):
            register()
