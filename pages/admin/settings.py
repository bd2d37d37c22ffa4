"""`/admin/settings`: every configurable behaviour, one section and one Save per topic; `/branding/logo`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Response
from nicegui import ui

from services import branding, db, settings_admin
from services.config import get_config
from services.settings import PortalSettings
from services.settings_admin import LABELS

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page, public_endpoint


LOGO_CACHE = 'public, max-age=300'


@public_endpoint('/branding/logo')
def logo_route() -> Response:
    """The co-brand logo (public: it is on the sign-in page). A sync route: FastAPI runs it in a thread.

    Not a `@file_route`: that answer is private (no-store, attachment name, no SVG policy), while the logo is
    public, cached for a few minutes and, as SVG, needs its own Content-Security-Policy.
    """
    logo = db.run(branding.current_logo)
    if logo is None:
        return Response(status_code=404, headers={'Cache-Control': 'no-store'})
    headers = {'Cache-Control': LOGO_CACHE, 'X-Content-Type-Options': 'nosniff'}
    if logo.mime_type == branding.SVG_MIME:
        headers['Content-Security-Policy'] = branding.SVG_CSP
    return Response(content=logo.data, media_type=logo.mime_type, headers=headers)



@portal_page('/admin/settings', roles=access.ADMIN, title='Settings')
async def settings_page(page: Page) -> None:
    """The sections: General, Features, Branding, Security, Email."""
    current = page.settings
    heading('Settings').classes('text-2xl font-bold').mark('admin-settings')
    ui.label('Changes apply at once, without a restart. Each section has its own Save.').classes('text-grey-8')
    general_section(current)
    features_section(current)
    branding_section(current)
    security_section(current)
    two_step_section(current)
    sharing_section(current)
    email_section(current)


def general_section(s: PortalSettings) -> None:
    with _card('General'):
        fields = {
            'portal_name': ui.input(LABELS['portal_name'], value=s.portal_name),
            'base_url': ui.input(LABELS['base_url'], value=s.base_url, placeholder='https://portal.example.org'),
            'time_zone': ui.input(LABELS['time_zone'], value=s.time_zone, placeholder='America/New_York'),
            'help_desk_phone': ui.input(LABELS['help_desk_phone'], value=s.help_desk_phone),
            'support_email': ui.input(LABELS['support_email'], value=s.support_email),
        }
        if get_config().base_url:
            ui.label(f'SMP_BASE_URL ({get_config().base_url}) is set on the server and wins over this base URL.') \
                .classes('text-xs text-warning')
        _save_row('general', fields)


def features_section(s: PortalSettings) -> None:
    with _card('Features'):
        fields = {
            'replies_enabled': ui.switch(LABELS['replies_enabled'], value=s.replies_enabled),
            'registration_enabled': ui.switch(LABELS['registration_enabled'], value=s.registration_enabled),
            'email_is_username': ui.switch(LABELS['email_is_username'], value=s.email_is_username),
            'terms_required': ui.switch('Terms of use must be accepted at first sign-in', value=s.terms_required),
            'terms_text': ui.textarea(LABELS['terms_text'], value=s.terms_text),
            'document_types': ui.textarea('Document types (one per line)', value='\n'.join(s.document_types)),
        }
        _save_row('features', fields)
        ui.link('Edit the new-registration questionnaire', '/admin/questionnaire').mark('questionnaire-link')


def branding_section(s: PortalSettings) -> None:
    with _card('Branding'):
        state: dict[str, Any] = {'logo_file_id': s.logo_file_id, 'logo_alt': s.logo_alt}
        logo_controls(state, on_change=lambda: preview.refresh())
        fields = {'logo_alt': ui.input(LABELS['logo_alt'], value=s.logo_alt),
                  'primary_color': ui.color_input(LABELS['primary_color'], value=s.primary_color)}
        # a colour that would make links and buttons unreadable is refused on Save; say so while it is picked
        color_note = actions.Message('color-contrast').describe(fields['primary_color'])
        fields['primary_color'].on_value_change(lambda e: _check_color(color_note, e.value))
        fields |= {
            'header_text': ui.input(LABELS['header_text'], value=s.header_text),
            'footer_enabled': ui.switch(LABELS['footer_enabled'], value=s.footer_enabled),
            'footer_text': ui.input(LABELS['footer_text'], value=s.footer_text),
            'footer_links': ui.textarea('Footer links (one per line: Label | https://address)',
                                        value=settings_admin.footer_links_text(s.footer_links)),
        }
        _save_row('branding', fields)

        @ui.refreshable
        def preview() -> None:
            _preview(s, state['logo_file_id'], {k: e.value for k, e in fields.items()})

        ui.label('Preview').classes('text-sm font-bold mt-2')
        preview()
        for element in fields.values():
            element.on_value_change(preview.refresh)


def _check_color(note: actions.Message, value: str | None) -> None:
    problem = settings_admin.color_contrast_problem(value) if settings_admin.is_color(value) else None
    if problem:
        note.error(problem)
    else:
        note.clear()


def logo_controls(state: dict[str, Any], on_change: Callable[[], None]) -> None:
    """The current logo, an upload (saved at once, checked on the server) and a remove button."""
    with ui.row().classes('items-center gap-4'):
        logo_box = ui.row().classes('items-center gap-2')
        upload = ui.upload(label=f'Upload a logo (PNG, JPEG or SVG, up to {branding.LOGO_MAX_BYTES // 1024} KB)',
                           auto_upload=True, max_files=1, max_file_size=branding.LOGO_MAX_BYTES,
                           on_rejected=lambda: message.error('That file is larger than the logo limit.')) \
            .props('accept=".png,.jpg,.jpeg,.svg,image/png,image/jpeg,image/svg+xml"').mark('logo-upload')
        remove = ui.button('Remove logo').props('flat').mark('remove-logo')
    message = actions.Message('error-logo')

    def show_logo() -> None:
        logo_box.clear()
        with logo_box:
            if state['logo_file_id']:
                logo = ui.image(f'/branding/logo?v={state["logo_file_id"]}').classes('w-28 h-10') \
                    .props('fit=contain').mark('current-logo')
                logo.props['alt'] = state['logo_alt']  # data, never parsed as props
            else:
                ui.label('No logo: the header shows the default icon.').classes('text-grey-7')

    async def save_logo(act: actions.Act) -> None:
        data, file_name = await act.event.file.read(), act.event.file.name
        upload.reset()
        state['logo_file_id'] = await act.call(branding.save_logo, data=data, file_name=file_name)
        show_logo()
        on_change()
        act.done('Logo saved.')

    async def remove_logo(act: actions.Act) -> None:
        await act.call(branding.remove_logo)
        state['logo_file_id'] = None
        show_logo()
        on_change()
        act.done('Logo removed.')

    upload.on_upload(actions.Action(save_logo, triggers=[upload], message=message))
    remove.on_click(actions.Action(remove_logo, triggers=[remove], message=message))
    show_logo()


def _preview(s: PortalSettings, logo_file_id: int | None, values: dict[str, Any]) -> None:
    """Header and footer as contacts will see them, from the values being edited (not yet saved)."""
    color = values['primary_color'] if settings_admin.is_color(values['primary_color']) else s.primary_color
    with ui.element('div').classes('w-full border rounded overflow-hidden').mark('branding-preview'):
        with ui.row().classes('items-center gap-3 px-3 py-2 bg-white shadow-sm w-full').mark('preview-header') \
                as bar:
            bar.style['border-bottom'] = f'3px solid {color}'  # a checked colour, set as data
            if logo_file_id:
                logo = ui.image(f'/branding/logo?v={logo_file_id}').classes('w-28 h-10').props('fit=contain') \
                    .mark('preview-logo')
                logo.props['alt'] = values['logo_alt'] or ''  # data, never parsed as props
            else:
                ui.icon('local_hospital', size='md').style['color'] = color
            with ui.column().classes('gap-0'):
                ui.label(s.portal_name).classes('text-lg font-bold leading-tight')
                if values['header_text']:
                    ui.label(values['header_text']).classes('text-xs text-grey-7').mark('preview-header-text')
        ui.element('div').classes('h-12 bg-grey-1 w-full')
        if values['footer_enabled']:
            with ui.row().classes('bg-grey-2 text-grey-8 text-xs px-4 py-2 gap-3 w-full').mark('preview-footer'):
                ui.label(values['footer_text'] or f'© {s.portal_name}')
                for line in (values['footer_links'] or '').splitlines():
                    label, sep, url = line.partition('|')
                    if sep and label.strip():
                        ui.label(label.strip()).classes('underline')  # a label, not a link: URLs are checked on save
        else:
            ui.label('(no footer)').classes('text-xs text-grey-6 px-4 py-2')


def security_section(s: PortalSettings) -> None:
    with _card('Security'):
        fields = {key: _number(s, key) for key in settings_admin.SECTIONS['security']}
        _save_row('security', fields)
    with _card('Audit log'):
        ui.label('The head of the audit chain is written outside the database at the intervals above; it can '
                 'also be emailed to the admins once a day (no patient data: a number, a hash and a time).') \
            .classes('text-sm text-grey-8')
        _save_row('audit', {'audit_anchor_email': ui.switch(LABELS['audit_anchor_email'],
                                                            value=s.audit_anchor_email).mark('audit-anchor-email')})


CONTACT_TWO_STEP = {'off': 'Off (not offered)', 'optional': 'Optional (each contact chooses)',
                    'required': 'Required'}


def two_step_section(s: PortalSettings) -> None:
    with _card('Two-step sign-in'):
        ui.label('After the password, a code from an authenticator app or a passkey. While the grace period runs, '
                 'a person who must set it up sees a notice on every page; after it (or when you require it for '
                 'one account on the Accounts page) nothing opens until it is set up.').classes('text-sm text-grey-8')
        fields: dict[str, ui.element] = {
            'second_factor_staff': ui.switch(LABELS['second_factor_staff'], value=s.second_factor_staff),
            'second_factor_contacts': ui.select(CONTACT_TWO_STEP, value=s.second_factor_contacts,
                                                label=LABELS['second_factor_contacts']),
            'second_factor_grace_days': _number(s, 'second_factor_grace_days'),
            'second_factor_totp': ui.switch(LABELS['second_factor_totp'], value=s.second_factor_totp),
            'second_factor_passkey': ui.switch(LABELS['second_factor_passkey'], value=s.second_factor_passkey),
            'second_factor_trust_browser': ui.switch(LABELS['second_factor_trust_browser'],
                                                     value=s.second_factor_trust_browser),
        }
        _save_row('two_step', fields)


def sharing_section(s: PortalSettings) -> None:
    with _card('Sharing'):
        ui.label('Defaults of the Send dialog (staff may change them per share) and the longest expiry they may '
                 'choose.').classes('text-sm text-grey-8')
        fields: dict[str, ui.element] = {
            'share_replies_default': ui.switch(LABELS['share_replies_default'], value=s.share_replies_default),
            'share_acknowledgement_default': ui.switch(LABELS['share_acknowledgement_default'],
                                                       value=s.share_acknowledgement_default),
        }
        fields |= {key: _number(s, key) for key in ('share_expiry_default_days', 'share_expiry_max_days',
                                                     'share_expiry_notice_days')}
        _save_row('sharing', fields)


def email_section(s: PortalSettings) -> None:
    with _card('Email'):
        with ui.row().classes('gap-4'):
            ui.link('Mail server (SMTP) settings', '/admin/email').mark('smtp-link')
            ui.link('Email templates', '/admin/templates').mark('templates-link')
            ui.link('Outbox', '/admin/outbox').mark('outbox-link')
        ui.label('Notification timings').classes('text-sm font-bold')
        fields = {key: _number(s, key) for key in settings_admin.SECTIONS['notifications']}
        _save_row('notifications', fields)
        ui.label('Staff alerts: what a staff member is emailed unless they choose otherwise (My settings)') \
            .classes('text-sm font-bold')
        modes = {'off': 'No email', 'immediate': 'Email at once', 'digest': 'In the digest'}
        fields = {key: ui.select(modes, value=getattr(s, key), label=LABELS[key])
                  for key in settings_admin.SECTIONS['staff_alerts']}
        _save_row('staff_alerts', fields)


def _number(s: PortalSettings, key: str) -> ui.number:
    low, high = settings_admin.bounds(key)
    number = ui.number(LABELS[key], value=getattr(s, key), precision=0, format='%d')
    number.props['hint'] = f'{low} to {high}'
    return number


def _card(title: str) -> ui.card:
    card = ui.card().classes('w-full gap-2').mark(f'section-{title.lower()}')
    with card:
        heading(title, 2).classes('text-lg font-bold')
    return card


def _save_row(section: str, fields: dict[str, ui.element]) -> None:
    """Mark the fields, add the section's Save button and its message line."""
    for key, element in fields.items():
        element.classes('w-full max-w-xl').mark(key)

    async def save(act: actions.Act) -> None:
        values = {key: element.value for key, element in fields.items()}
        diff = await act.call(settings_admin.save_section, section=section, values=values)
        act.done('Saved.' if diff else 'Nothing changed.')

    button = ui.button('Save').mark(f'save-{section}')
    button.props['aria-label'] = f'Save {section}'  # each section has a Save: say which one
    button.on_click(actions.Action(save, triggers=[button], message=actions.Message(f'error-{section}')))
