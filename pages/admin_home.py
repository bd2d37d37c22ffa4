"""`/admin`: the administrator's start page."""
from __future__ import annotations

from nicegui import ui

from . import guard, page
from .frame import ADMIN_LINKS, STAFF_LINKS, frame


def register() -> None:
    page('/admin')(admin_home)


async def admin_home() -> None:
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    with frame('Administration', actor):
        ui.label('Administration').classes('text-2xl font-bold').mark('admin-home')
        with ui.row().classes('gap-3 flex-wrap'):
            for label, target in ADMIN_LINKS + STAFF_LINKS:
                ui.button(label, on_click=lambda t=target: ui.navigate.to(t)).props('outline')
