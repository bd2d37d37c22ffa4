"""The standard portal frame: header (co-brand logo, portal name, sign out) and configurable footer."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import app, ui
from nicegui.elements.mixins.text_element import TextElement

from models.shapes import Actor
from services.settings import PortalSettings

from . import access, static_assets

STAFF_LINKS = [('Charts', '/staff'), ('Contacts', '/staff/contacts'), ('SMP worklist', '/staff/worklist'),
               ('Registrations', '/staff/registrations'), ('My settings', '/staff/settings')]
# the portal theme: Quasar's brand colours replaced by ones that meet 4.5:1 as text on white (and 3:1 as UI parts)
THEME = {'secondary': '#1d6f67', 'accent': '#7b1fa2', 'positive': '#1e7b34', 'negative': '#b3261e',
         'info': '#0b6a8a', 'warning': '#8a5300'}
# the portal's style, and names and keyboard access for the parts Quasar draws itself (assets/portal.css and
# assets/portal.js, served by pages/public/assets.py): constant tags, loaded from this origin and kept by the browser
PORTAL_STYLESHEET = static_assets.tag('portal.css')
PORTAL_SCRIPT = static_assets.tag('portal.js')
# after a part of the page changed: the page's h1 gets the focus (on load assets/portal.js does it)
FOCUS_HEADING_JS = """
setTimeout(() => { const h = document.querySelector('main h1');
  if (!h) return; h.setAttribute('tabindex', '-1'); h.focus({preventScroll: false}); }, 120)
"""
# after a wizard step changed: its first field (or the page's h1), once the step's animation is over
FOCUS_STEP_JS = """
(() => { let tries = 0;
  const go = () => {
    const tab = document.querySelector('main .q-stepper__tab--active');
    const inner = tab && tab.closest('.q-stepper__step') && tab.closest('.q-stepper__step').querySelector('.q-stepper__step-inner');
    const field = inner && inner.offsetParent !== null && inner.querySelector('input:not([type=hidden]):not([tabindex="-1"]), '
      + 'textarea, [role=combobox], [role=radio], [role=checkbox], button');
    if (field) { field.focus(); return; }
    if (++tries < 30) { setTimeout(go, 100); return; }
    const h = document.querySelector('main h1'); if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
  };
  setTimeout(go, 100); })()
"""
ADMIN_LINKS = [('Settings', '/admin/settings'), ('Accounts', '/admin/accounts'), ('Audit log', '/admin/audit'),
               ('Outbox', '/admin/outbox')]


@contextmanager
def frame(actor: Actor | None, settings: PortalSettings, unworked: int = 0) -> Iterator[ui.column]:
    """Build the page header and footer around the content of the `with` block (portal_page calls this)."""
    # the theme is one for every page: NiceGUI's application-wide colours, read as each page is rendered (a
    # ui.colors element per page was the most expensive element of a page open)
    app.colors(primary=settings.primary_color, **THEME)
    ui.add_head_html(PORTAL_STYLESHEET)
    ui.add_body_html(PORTAL_SCRIPT)
    header(settings, actor, unworked)
    with ui.column().classes('w-full max-w-5xl mx-auto p-3 sm:p-6 gap-4') as content:
        content.props['id'] = 'main'
        content.props['tabindex'] = '-1'
        yield content
    if settings.footer_enabled:
        footer(settings)


class Heading(TextElement):
    """A real heading (`h1`..`h4`) styled like the label it replaces: one h1 per page, sections below it."""

    def __init__(self, text: str = '', level: int = 1) -> None:
        super().__init__(tag=f'h{max(1, min(level, 6))}', text=text)
        self.classes('portal-heading')


def heading(text: str = '', level: int = 1) -> Heading:
    """The page's title (level 1) or a section's (level 2, 3)."""
    return Heading(text, level)


def focus_step(near: ui.element) -> None:
    """Move the focus to the first field of the wizard step that just opened (`near`: an element of the page)."""
    near.client.run_javascript(FOCUS_STEP_JS)  # (the element that ran the handler may be gone by now)


def focus_heading(near: ui.element) -> None:
    """Move the focus to the page's h1 after a step or a part of the page changed (`near`: an element of the page)."""
    near.client.run_javascript(FOCUS_HEADING_JS)


def not_available(message: str, back: tuple[str, str] | None = None) -> None:
    """What a page shows when its record is missing, not yours, or withdrawn (one message for all three)."""
    ui.page_title('Not available')
    with ui.card().classes('w-full p-6 items-center text-center').mark('not-available'):
        ui.icon('block', size='lg', color='grey-7')
        heading('Not available').classes('text-xl')
        ui.label(message).classes('text-lg')
        if back:
            ui.link(*back)


def header(settings: PortalSettings, actor: Actor | None, unworked: int = 0) -> None:
    """The co-brand header: logo, portal name and header text, navigation by role, sign out."""
    with ui.header().classes('items-center gap-3 px-3 py-2 bg-white text-grey-9 shadow-sm').mark('portal-header') \
            .classes('portal-header'):
        ui.link('Skip to main content', '#main').classes('skip-link')
        with ui.link(target=access.home_of(actor) if actor else '/').classes('flex items-center gap-3 no-underline text-inherit'):
            if settings.logo_file_id:
                logo = ui.image(f'/branding/logo?v={settings.logo_file_id}').props('fit=contain') \
                    .classes('w-28 h-10 portal-logo').mark('logo')
                logo.props['alt'] = settings.logo_alt  # data, never parsed as props
            else:
                ui.icon('local_hospital', size='md', color='primary').mark('logo').props['aria-hidden'] = 'true'
            name = ui.label(settings.portal_name).classes('text-lg font-bold leading-tight').mark('portal-name')
            if settings.header_text:  # (each element is work on every page open: the column only when needed)
                with ui.column().classes('gap-0') as names:
                    name.move(names)
                    ui.label(settings.header_text).classes('text-xs text-grey-7')
        if actor is not None:
            with ui.element('nav').classes('flex items-center gap-3 no-wrap ml-auto') as nav:
                nav.props['aria-label'] = 'Portal'
                navigation(actor, unworked)


def navigation(actor: Actor, unworked: int) -> None:
    """The header's controls for a signed-in person: menu by role, settings, name, sign out."""
    links = (STAFF_LINKS if actor.is_staff else []) + (ADMIN_LINKS if actor.is_admin else [])
    if links:
        # the button's name starts with its visible text ("Menu") and includes the badge's count
        with ui.button('Menu', icon='menu').props('flat no-caps color=grey-9').classes('px-2'):
            if actor.is_staff:
                unworked_badge(unworked)
            with ui.menu():
                for label, target in links:
                    ui.menu_item(label, on_click=lambda t=target: ui.navigate.to(t))
    if actor.role == 'contact':
        # the browser's own tooltip (title): a Quasar tooltip is one more element on every page open
        ui.button(icon='settings', on_click=lambda: ui.navigate.to('/settings')) \
            .props('flat round color=grey-9 aria-label="Settings" title="Settings"')
    ui.label(actor.display_name).classes('text-sm text-grey-8 gt-xs')
    ui.button('Sign out', icon='logout', on_click=access.sign_out).props('flat color=primary').mark('sign-out')


def unworked_badge(count: int) -> None:
    """A badge with the number of unworked replies in the SMP worklist (read with the session)."""
    badge = ui.badge(str(count), color='negative').props('floating').mark('unworked-count')
    badge.tooltip(f'{count} unworked replies in the SMP worklist')
    badge.set_visibility(count > 0)
    # the button's name reads "Menu, 3 unworked replies": the count's meaning is not left to the red colour
    ui.label(' unworked replies' if count > 0 else '').classes('sr-only')


def footer(settings: PortalSettings) -> None:
    """The admin-configured footer: text and links."""
    with ui.footer().classes('bg-grey-2 text-grey-9 text-xs px-4 py-2 flex-wrap gap-3 portal-footer') \
            .mark('portal-footer'):
        ui.label(settings.footer_text or f'© {settings.portal_name}')
        for link in settings.footer_links:
            ui.link(link.label, link.url).classes('text-grey-9')
        if settings.help_desk_phone:
            ui.label(f'Help desk: {settings.help_desk_phone}')

