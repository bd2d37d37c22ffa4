"""The standard portal frame: header (co-brand logo, portal name, sign out) and configurable footer."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nicegui import app, context, ui
from nicegui.helpers import require_top_level_layout
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
# after a part of the page changed: the page's h1 gets the focus (on load assets/portal.js does it), unless the
# person already put it somewhere else (a field of the new step: typing must not be cut off 120 ms in)
FOCUS_HEADING_JS = """
(() => { const start = document.activeElement;
  setTimeout(() => { const h = document.querySelector('main h1'); const now = document.activeElement;
    if (!h || (now && now !== start && now !== document.body && now.id !== 'main')) return;
    h.setAttribute('tabindex', '-1'); h.focus({preventScroll: false}); }, 120); })()
"""
# after a wizard step changed: its first field (or the page's h1), once the step's animation is over
FOCUS_STEP_JS = """
(() => { let tries = 0; const start = document.activeElement;
  const go = () => {
    const now = document.activeElement;  // the person moved the focus meanwhile (started typing): leave it there
    if (now && now !== start && now !== document.body) return;
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


# the header and the footer are one element each, drawn in the browser from their props by a Vue component
# (assets/portal_header.js, assets/portal_footer.js): every page open built ~10 NiceGUI elements for the header,
# and one element instead of them cut the server's CPU per main-screen open by 15% (measured A/B)
ASSETS = Path(__file__).resolve().parent.parent / 'assets'


def _menu(links: list[tuple[str, str]]) -> tuple[dict[str, str], ...]:
    # (a tuple: element props keep it as it is; a list or dict would be copied into observable ones on every open)
    return tuple({'label': label, 'url': url} for label, url in links)


MENUS = {(False, False): (), (True, False): _menu(STAFF_LINKS), (True, True): _menu(STAFF_LINKS + ADMIN_LINKS)}


class PortalHeader(ui.element, component=ASSETS / 'portal_header.js'):
    """The header: a Quasar q-header at the top of the page layout, as NiceGUI's ui.header places itself."""

    def __init__(self, props: dict[str, Any]) -> None:
        require_top_level_layout(self)
        with context.client.layout:
            super().__init__()
        self._props.update(props)
        view = self.client.layout.props['view']
        self.client.layout.props['view'] = view[:1] + 'H' + view[2:]  # fixed (portal.css lets it scroll when small)
        self.move(target_index=0)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        # what the template shows as text, for NiceGUI's simulated user (`user.should_see`)
        p = self._props
        contents = ['Skip to main content', p.get('portal_name'), p.get('header_text')]
        if p.get('signed_in'):
            links = p.get('links') or ()
            if links:
                contents.append('Menu')
                if p.get('unworked'):
                    contents += [str(p['unworked']), f' {p["unworked"]} unworked replies',
                                 f'{p["unworked"]} unworked replies in the SMP worklist']
                contents += [link['label'] for link in links]
            if p.get('settings_url'):
                contents.append('Settings')
            contents += [p.get('display_name'), 'Sign out']
        return contents


class PortalFooter(ui.element, component=ASSETS / 'portal_footer.js'):
    """The footer: a Quasar q-footer at the end of the page layout, as NiceGUI's ui.footer places itself."""

    def __init__(self, props: dict[str, Any]) -> None:
        require_top_level_layout(self)
        with context.client.layout:  # (the layout's last child: where ui.footer moves itself)
            super().__init__()
        self._props.update(props)
        view = self.client.layout.props['view']
        self.client.layout.props['view'] = view[:9] + 'F' + view[10:]  # fixed (portal.css: not on small screens)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        p = self._props
        phone = p.get('phone')
        return [p.get('text'), *(link['label'] for link in p.get('links') or ()),
                f'Help desk: {phone}' if phone else None]


def header(settings: PortalSettings, actor: Actor | None, unworked: int = 0) -> PortalHeader:
    """The co-brand header: logo, portal name and header text, navigation by role, sign out."""
    props: dict[str, Any] = {'portal_name': settings.portal_name, 'home': access.home_of(actor) if actor else '/'}
    if settings.header_text:
        props['header_text'] = settings.header_text
    if settings.logo_file_id:
        props['logo_url'] = f'/branding/logo?v={settings.logo_file_id}'
        props['logo_alt'] = settings.logo_alt
    if actor is None:
        return PortalHeader(props).mark('portal-header')
    props.update(navigation(actor, unworked))
    # the template's Sign out button sends this event: signing out stays a server action
    return PortalHeader(props).mark('portal-header signed-in').on('sign_out', access.sign_out, [])


def navigation(actor: Actor, unworked: int) -> dict[str, Any]:
    """The header's controls for a signed-in person: menu by role (staff: with the unworked-replies badge),
    settings (contacts), name, sign out."""
    nav: dict[str, Any] = {'signed_in': True, 'display_name': actor.display_name,
                           'links': MENUS[actor.is_staff, actor.is_admin]}
    if actor.is_staff:
        nav['unworked'] = unworked  # the Menu's badge; the button's name reads "Menu 3 unworked replies"
    if actor.role == 'contact':
        nav['settings_url'] = '/settings'
    return nav


def footer(settings: PortalSettings) -> PortalFooter:
    """The admin-configured footer: text and links."""
    props: dict[str, Any] = {'text': settings.footer_text or f'© {settings.portal_name}'}
    if settings.footer_links:
        props['links'] = tuple({'label': link.label, 'url': link.url} for link in settings.footer_links)
    if settings.help_desk_phone:
        props['phone'] = settings.help_desk_phone
    return PortalFooter(props).mark('portal-footer')
