"""`/`: the contact's portal main screen (placeholder until the main screen lands)."""
from __future__ import annotations

from nicegui import ui

from . import guard
from .frame import frame


def register() -> None:
    ui.page('/')(contact_home)


async def contact_home() -> None:
    """Says who is signed in; staff and admins go to their own start pages."""
    actor = await guard.require()
    if actor is None:
        return
    if actor.is_staff:
        ui.navigate.to(guard.home_of(actor))
        return
    with frame('Messages', actor):
        ui.label(f'Signed in as {actor.username}').mark('signed-in-as')
