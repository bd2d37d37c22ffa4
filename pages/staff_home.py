"""`/staff`: the clinic workspace's start page."""
from __future__ import annotations

from nicegui import ui

from . import guard
from .frame import STAFF_LINKS, frame


def register() -> None:
    ui.page('/staff')(staff_home)


async def staff_home() -> None:
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    with frame('Clinic workspace', actor):
        ui.label('Clinic workspace').classes('text-2xl font-bold').mark('staff-home')
        with ui.row().classes('gap-3 flex-wrap'):
            for label, target in STAFF_LINKS:
                ui.button(label, on_click=lambda t=target: ui.navigate.to(t)).props('outline')
