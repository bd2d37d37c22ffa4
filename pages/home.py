"""Landing pages by role: `/` for contacts (the portal main screen), `/staff`, `/admin`."""
from __future__ import annotations

from nicegui import ui

from . import guard
from .frame import ADMIN_LINKS, STAFF_LINKS, frame


def register() -> None:
    ui.page('/')(contact_home)
    ui.page('/staff')(staff_home)
    ui.page('/admin')(admin_home)


async def contact_home() -> None:
    """Placeholder until the portal main screen lands: says who is signed in."""
    actor = await guard.require()
    if actor is None:
        return
    if actor.is_staff:
        ui.navigate.to(guard.home_of(actor))
        return
    with frame('Messages', actor):
        ui.label(f'Signed in as {actor.username}').mark('signed-in-as')


async def staff_home() -> None:
    """The clinic workspace's start page."""
    actor = await guard.require(*guard.STAFF)
    if actor is None:
        return
    with frame('Clinic workspace', actor):
        ui.label('Clinic workspace').classes('text-2xl font-bold')
        _link_cards(STAFF_LINKS)


async def admin_home() -> None:
    """The administrator's start page."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    with frame('Administration', actor):
        ui.label('Administration').classes('text-2xl font-bold')
        _link_cards(ADMIN_LINKS + STAFF_LINKS)


def _link_cards(links: list[tuple[str, str]]) -> None:
    with ui.row().classes('gap-3 flex-wrap'):
        for label, target in links:
            ui.button(label, on_click=lambda t=target: ui.navigate.to(t)).props('outline')
