"""The standard portal frame: header (co-brand logo, portal name, sign out) and configurable footer."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from models.shapes import Actor
from services.settings import PortalSettings

from . import access

STAFF_LINKS = [('Charts', '/staff'), ('Contacts', '/staff/contacts'), ('SMP worklist', '/staff/worklist'),
               ('Registrations', '/staff/registrations'), ('My settings', '/staff/settings')]
ADMIN_LINKS = [('Settings', '/admin/settings'), ('Accounts', '/admin/accounts'), ('Audit log', '/admin/audit'),
               ('Outbox', '/admin/outbox')]


@contextmanager
def frame(actor: Actor | None, settings: PortalSettings, unworked: int = 0) -> Iterator[ui.column]:
    """Build the page header and footer around the content of the `with` block (portal_page calls this)."""
    ui.colors(primary=settings.primary_color)
    ui.query('body').classes('bg-grey-1')
    header(settings, actor, unworked)
    with ui.column().classes('w-full max-w-5xl mx-auto p-3 sm:p-6 gap-4') as content:
        yield content
    if settings.footer_enabled:
        footer(settings)


def not_available(message: str, back: tuple[str, str] | None = None) -> None:
    """What a page shows when its record is missing, not yours, or withdrawn (one message for all three)."""
    ui.page_title('Not available')
    with ui.card().classes('w-full p-6 items-center text-center').mark('not-available'):
        ui.icon('block', size='lg', color='grey-7')
        ui.label(message).classes('text-lg')
        if back:
            ui.link(*back)


def header(settings: PortalSettings, actor: Actor | None, unworked: int = 0) -> None:
    """The co-brand header: logo, portal name and header text, navigation by role, sign out."""
    with ui.header().classes('items-center gap-3 px-3 py-2 bg-white text-grey-9 shadow-sm').mark('portal-header'):
        with ui.link(target=access.home_of(actor) if actor else '/').classes('flex items-center gap-3 no-underline text-inherit'):
            if settings.logo_file_id:
                logo = ui.image(f'/branding/logo?v={settings.logo_file_id}').props('fit=contain') \
                    .classes('w-28 h-10').mark('logo')
                logo.props['alt'] = settings.logo_alt  # data, never parsed as props
            else:
                ui.icon('local_hospital', size='md', color='primary').mark('logo')
            with ui.column().classes('gap-0'):
                ui.label(settings.portal_name).classes('text-lg font-bold leading-tight').mark('portal-name')
                if settings.header_text:
                    ui.label(settings.header_text).classes('text-xs text-grey-7')
        ui.space()
        if actor is not None:
            links = (STAFF_LINKS if actor.is_staff else []) + (ADMIN_LINKS if actor.is_admin else [])
            if links:
                with ui.button(icon='menu').props('flat round color=grey-8 aria-label="Menu"'):
                    if actor.is_staff:
                        unworked_badge(unworked)
                    with ui.menu():
                        for label, target in links:
                            ui.menu_item(label, on_click=lambda t=target: ui.navigate.to(t))
            if actor.role == 'contact':
                ui.button(icon='settings', on_click=lambda: ui.navigate.to('/settings')) \
                    .props('flat round color=grey-8 aria-label="Settings"').tooltip('Settings')
            ui.label(actor.display_name).classes('text-sm text-grey-8 gt-xs')
            ui.button('Sign out', icon='logout', on_click=access.sign_out).props('flat color=primary').mark('sign-out')


def unworked_badge(count: int) -> None:
    """A badge with the number of unworked replies in the SMP worklist (read with the session)."""
    badge = ui.badge(str(count), color='negative').props('floating').mark('unworked-count')
    badge.tooltip(f'{count} unworked replies in the SMP worklist')
    badge.set_visibility(count > 0)


def footer(settings: PortalSettings) -> None:
    """The admin-configured footer: text and links."""
    with ui.footer().classes('bg-grey-2 text-grey-8 text-xs px-4 py-2 flex-wrap gap-3').mark('portal-footer'):
        ui.label(settings.footer_text or f'© {settings.portal_name}')
        for link in settings.footer_links:
            ui.link(link.label, link.url).classes('text-grey-8')
        if settings.help_desk_phone:
            ui.label(f'Help desk: {settings.help_desk_phone}')

