"""`/admin`: the administrator's start page: one card per area, each saying what it is for."""
from __future__ import annotations

from nicegui import ui

from services import outbox

from .. import access
from ..frame import STAFF_LINKS, heading
from ..portal import Page, portal_page

AREAS = [
    ('Settings', '/admin/settings', 'tune',
     'Portal name, features (replies, new registration), branding, security and notification timings.'),
    ('Accounts', '/admin/accounts', 'manage_accounts',
     'Create staff and admin accounts; disable, unlock or sign out any account.'),
    ('Audit log', '/admin/audit', 'policy', 'Who did what, when and from where; CSV export and access reports.'),
    ('Outbox', '/admin/outbox', 'outbox', 'Every email the portal sent or will send; retry or cancel.'),
    ('Mail server', '/admin/email', 'dns', 'SMTP server, sender address and a test email.'),
    ('Email templates', '/admin/templates', 'mail', 'The wording of every email the portal sends.'),
    ('Registration questionnaire', '/admin/questionnaire', 'assignment', 'The questions of a new registration.'),
    ('API and webhooks', '/admin/api', 'api', "The EHR's API clients (scopes, secrets) and webhooks."),
]


@portal_page('/admin', roles=access.ADMIN, title='Administration')
async def admin_home(page: Page) -> None:
    """The admin areas as cards, then the clinic workspace (admins are staff too)."""
    heading('Administration').classes('text-2xl font-bold').mark('admin-home')
    if banner := await access.call(outbox.pause_banner, actor=page.actor):  # mail refused: say so first
        ui.label(banner).classes('w-full p-3 rounded bg-negative text-white').mark('outbox-paused')
    with ui.element('div').classes('grid grid-cols-1 sm:grid-cols-2 gap-3 w-full'):
        for title, target, icon, text in AREAS:
            with ui.card().classes('cursor-pointer gap-1').on('click', lambda t=target: ui.navigate.to(t)) \
                    .mark(f'area-{target.rsplit("/", 1)[-1]}'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon(icon, color='primary')
                    ui.link(title, target).classes('text-lg font-bold')
                ui.label(text).classes('text-sm text-grey-8')
    heading('Clinic workspace', 2).classes('text-lg font-bold mt-4')
    with ui.row().classes('gap-3 flex-wrap'):
        for label, target in STAFF_LINKS:
            ui.button(label, on_click=lambda t=target: ui.navigate.to(t)).props('outline')
