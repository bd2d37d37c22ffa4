"""Building blocks shared by the clinic pages: the record a page is about and its heading, server-paged tables
(each load re-reads the session), the chart and contact forms, the Send Document dialog and the rescind dialog.
Every save in them is an `actions.Action`."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nicegui import ui

from services import charts, contacts, sharing
from services.errors import NotAvailable
from services.settings import PortalSettings

from .. import access, actions, frame
from ..frame import not_available
from ..portal import Page
from ..tables import PAGE_SIZE, PagedTable, col  # noqa: F401  (the staff pages' table and columns)

T = TypeVar('T')


async def open_record(page: Page, fn: Callable[..., T], /, *, back: tuple[str, str] | None = None,
                      **kwargs: Any) -> T | None:
    """The record a page is about, `fn(session, actor=..., **kwargs)`; None once 'not available' is shown
    in its place (a missing or withdrawn id), and the builder then returns."""
    try:
        return await access.call(fn, actor=page.signed_in, **kwargs)
    except NotAvailable as error:
        not_available(str(error), back)
        return None


def heading(page: Page, text: str, mark: str, back: tuple[str, str] | None = None, *, tab: str | None = None,
            back_mark: str | None = None) -> ui.row:
    """A record page's breadcrumb: the link back, '›' and the record's name, which also names the browser tab
    (or `tab`); buttons can follow in the returned row."""
    page.title(tab or text)
    with ui.row().classes('w-full items-center') as row:
        if back is not None:
            link = ui.link(*back).classes('text-primary')
            if back_mark:
                link.mark(back_mark)
        ui.label('›')
        frame.heading(text).classes('text-2xl font-bold').mark(mark)
    return row


def details(fields: list[tuple[str, Any, str | None]]) -> None:
    """A record's fields as a card of small captions over values ('—' for empty); a mark names a value."""
    with ui.card().classes('w-full'), ui.grid(columns=3).classes('w-full gap-2 text-sm'):
        for caption, value, mark in fields:
            with ui.column().classes('gap-0'):
                ui.label(caption).classes('text-xs text-grey-7')
                shown = ui.label(str(value or '') or '—')
                if mark:
                    shown.mark(mark)


async def _maybe_await(value: Any) -> None:
    if isinstance(value, Awaitable):
        await value


# ----------------------------------------------------------------------------- chart form

def chart_dialog(chart: charts.ChartRow | None) -> ui.dialog:
    """Create (chart None) or edit a chart; saving opens the chart with the notice."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2'):
        frame.heading('Edit chart' if chart else 'New chart', 2).classes('text-lg font-bold')
        with ui.row().classes('w-full no-wrap gap-2'):
            first = ui.input('First name', value=chart.first_name if chart else '').classes('grow').mark('chart-first')
            last = ui.input('Last name', value=chart.last_name if chart else '').classes('grow').mark('chart-last')
        birth = ui.input('Date of birth (YYYY-MM-DD)', value=str(chart.date_of_birth or '') if chart else '') \
            .props('type=date stack-label').mark('chart-birth')
        external = ui.input('External id', value=chart.external_id if chart else '').mark('chart-external')
        email = ui.input('Email', value=chart.email if chart else '').mark('chart-email')
        phone = ui.input('Phone', value=chart.phone if chart else '').mark('chart-phone')
        employer = ui.input('Employer', value=chart.employer if chart else '').mark('chart-employer')
        error = actions.Message('chart-error')

        async def save(act: actions.Act) -> None:
            chart_id = await act.call(
                charts.save_chart, chart_id=chart.id if chart else None, first_name=first.value,
                last_name=last.value, date_of_birth=birth.value, external_id=external.value, email=email.value,
                phone=phone.value, employer=employer.value)
            act.done('Chart saved.', navigate=f'/staff/chart/{chart_id}')

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            actions.button('Save chart', save, message=error).mark('chart-save')
    return dialog


# ----------------------------------------------------------------------------- contact form

class ContactForm:
    """First name, last name, email (required), phone, organization; warns about duplicates.

    With `choose` (the Send dialog) the new contact is handed to it and the form empties for the next one;
    without it the new contact's chart opens.
    """

    def __init__(self, choose: Callable[[contacts.ContactRow], None] | None = None) -> None:
        self.choose = choose
        with ui.column().classes('w-full gap-1') as self.column:
            with ui.row().classes('w-full no-wrap gap-2'):
                self.first = ui.input('First name').classes('grow').mark('contact-first')
                self.last = ui.input('Last name').classes('grow').mark('contact-last')
            self.email = ui.input('Email').classes('w-full').mark('contact-email')
            with ui.row().classes('w-full no-wrap gap-2'):
                self.phone = ui.input('Phone (optional)').classes('grow').mark('contact-phone')
                self.org = ui.input('Organization (optional)').classes('grow').mark('contact-org')
            self.error = actions.Message('contact-error')
            # staff see this after the duplicate warning: a namesake, or a second entry (another email) for the
            # same person, are both fine once they say so
            self.confirm = ui.checkbox('Add it anyway: a different person with the same name, or another email '
                                       'for the same person').mark('contact-confirm')
            self.confirm.set_visibility(False)
            actions.button('Add contact', self.add_clicked, icon='person_add', message=self.error) \
                .props('outline').mark('contact-add')

    def filled(self) -> bool:
        """Something was typed into the form (and not added yet)."""
        return any((field.value or '').strip() for field in (self.first, self.last, self.email))

    async def add(self, act: actions.Act) -> contacts.ContactRow:
        """Add the contact typed in (PossibleDuplicate shows the checkbox and is raised on)."""
        try:
            row = await act.call(contacts.add_contact, first_name=self.first.value, last_name=self.last.value,
                                 email=self.email.value, phone=self.phone.value, organization=self.org.value,
                                 confirm_same_name=self.confirm.value)
        except contacts.PossibleDuplicate:
            self.confirm.set_visibility(True)  # the action shows the service's message; ticking this adds anyway
            raise
        for field in (self.first, self.last, self.email, self.phone, self.org):
            field.value = ''
        self.confirm.value = False
        self.confirm.set_visibility(False)
        return row

    async def add_clicked(self, act: actions.Act) -> None:
        row = await self.add(act)
        notice = f'Contact {row.name} added.'
        if self.choose is None:
            act.done(notice, navigate=f'/staff/contacts/{row.id}')
            return
        self.choose(row)
        act.done(notice)


def contact_form(choose: Callable[[contacts.ContactRow], None] | None = None) -> ContactForm:
    """The new-contact form (see ContactForm)."""
    return ContactForm(choose)


# ----------------------------------------------------------------------------- Send Document

def date_input(label: str, value: str, mark: str) -> ui.input:
    """A YYYY-MM-DD text field with a calendar to pick from (typing works too; the service checks the date)."""
    field = ui.input(label, value=value, placeholder='YYYY-MM-DD').props('clearable outlined dense') \
        .classes('w-64').mark(mark)
    with field.add_slot('append'):
        with ui.icon('event').classes('cursor-pointer') as icon:
            with ui.menu() as menu:
                ui.date(mask='YYYY-MM-DD', on_change=lambda: menu.close()).bind_value(field)
        icon.on('click', menu.open)
    return field


def share_options(settings: PortalSettings) -> tuple[ui.switch, ui.input, ui.checkbox]:
    """The per-share options of the Send dialog, filled with the admin's defaults."""
    with ui.column().classes('w-full gap-1').mark('send-options'):
        ui.label('Options').classes('text-sm text-grey-8')
        replies = ui.switch('Allow replies', value=settings.share_replies_default).mark('option-replies')
        if not settings.replies_enabled:
            ui.label('Replies are turned off for the whole portal (Admin → Settings).').classes('text-xs text-grey-7')
        default = sharing.default_expiry(settings)
        limit = settings.share_expiry_max_days
        expires = date_input('Expires on' + (f' (at most {limit} days from today)' if limit else ' (empty: never)'),
                             default.isoformat() if default else '', 'option-expires')
        acknowledge = ui.checkbox('Require acknowledgement: the contact presses "I have reviewed this document"',
                                  value=settings.share_acknowledgement_default).mark('option-acknowledge')
    return replies, expires, acknowledge


def send_dialog(document_ids: list[int], *, outcome: actions.Message, settings: PortalSettings,
                on_sent: Callable[[], Any] | None = None) -> ui.dialog:
    """Choose one or several recipients (search, or add a new contact), the options, and send the documents.

    Problems show inside the dialog; once sent it closes and `outcome` (on the page) says what was sent.
    """
    chosen: dict[int, contacts.ContactRow] = {}
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-2xl gap-2').mark('send-dialog'):
        count = len(document_ids)
        frame.heading(f'Send {count} document{"s" if count != 1 else ""}', 2).classes('text-lg font-bold')
        ui.label('Recipients').classes('text-sm text-grey-8')
        chips = ui.row().classes('gap-1 min-h-8').mark('recipients')
        search = ui.input('Find a recipient: name, email or organization') \
            .props('clearable debounce=250 outlined dense').classes('w-full').mark('recipient-search')
        results = ui.list().props('dense bordered separator').classes('w-full')
        with ui.expansion('New contact', icon='person_add').classes('w-full').mark('new-contact') as new_contact:
            form = contact_form(lambda row: choose(row))
        replies, expires, acknowledge = share_options(settings)
        error = actions.Message('send-error')

        def show_chosen() -> None:
            chips.clear()
            with chips:
                if not chosen:
                    ui.label('None chosen yet.').classes('text-grey-7')
                for row in chosen.values():
                    ui.chip(row.label, removable=True, icon='person',
                            on_value_change=lambda _e, r=row: unchoose(r)).mark('recipient-chip')

        def choose(row: contacts.ContactRow) -> None:
            chosen[row.id] = row
            show_chosen()

        def unchoose(row: contacts.ContactRow) -> None:
            chosen.pop(row.id, None)
            show_chosen()

        async def find() -> None:
            actor = await actions.reader()
            if actor is None:
                return
            results.clear()
            query = (search.value or '').strip()
            if not query:
                return
            rows, total = await access.call(contacts.search_contacts, actor=actor, query=query, limit=8)
            with results:
                for row in rows:
                    state = 'portal account' if row.has_account else 'no account yet: gets an invitation'
                    with ui.item(on_click=lambda r=row: choose(r)).mark(f'recipient-option recipient-{row.email}'):
                        with ui.item_section():
                            ui.item_label(row.label)
                            ui.item_label(state).props('caption')
                if not rows:
                    ui.item_label('No contact found: add a new contact below.').classes('p-2 text-grey-7')
                elif total > len(rows):
                    ui.item_label(f'{total - len(rows)} more: type more of the name.').classes('p-2 text-grey-7')

        async def send(act: actions.Act) -> None:
            if form.filled():  # typed in but ADD CONTACT not pressed: add it now (a duplicate asks first)
                new_contact.open()
                try:
                    choose(await form.add(act))
                except contacts.PossibleDuplicate as duplicate:
                    act.fail(f'{duplicate} Then press Send again.')
            shared = await act.call(sharing.send_documents, document_ids=document_ids, contact_ids=list(chosen),
                                    replies_allowed=bool(replies.value), expires_on=expires.value or None,
                                    acknowledgement_required=bool(acknowledge.value))
            invitations = sum(1 for r in shared if r.email_kind == 'invitation')
            dialog.close()
            act.done()
            outcome.success(f'Sent {len(shared)} share{"s" if len(shared) != 1 else ""}'
                            f'{f" ({invitations} with an invitation)" if invitations else ""}.')
            if on_sent is not None:
                await _maybe_await(on_sent())

        search.on_value_change(find)
        show_chosen()
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            actions.button('Send', send, icon='send', message=error).mark('send')
    return dialog


# ----------------------------------------------------------------------------- rescind

def rescind_dialog(share_id: int | list[int], what: str, *, outcome: actions.Message,
                   on_done: Callable[[], Any] | None = None) -> ui.dialog:
    """Ask for the reason, then rescind one share (or several with one reason): the contact loses access at once;
    `outcome` (on the page) says so."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('rescind-dialog'):
        frame.heading(f'Rescind {what}', 2).classes('text-lg font-bold')
        ui.label('The contact loses access at once. The reason is kept in the audit log.')
        reason = ui.textarea('Reason').classes('w-full').mark('rescind-reason')
        error = actions.Message('rescind-error')

        async def confirm(act: actions.Act) -> None:
            if isinstance(share_id, list):
                count = await act.call(sharing.rescind_many, share_ids=share_id, reason=reason.value)
                notice = f'Rescinded {count} share{"s" if count != 1 else ""}.'
            else:
                await act.call(sharing.rescind, share_id=share_id, reason=reason.value)
                notice = 'Rescinded.'
            dialog.close()
            act.done()
            outcome.success(notice)
            if on_done is not None:
                await _maybe_await(on_done())

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            actions.button('Rescind', confirm, message=error).props('color=negative').mark('rescind-confirm')
    return dialog


def expiry_dialog(share_id: int, what: str, current: str, *, outcome: actions.Message,
                  on_done: Callable[[], Any] | None = None) -> ui.dialog:
    """Extend (or change, or clear) a share's expiry date, before or after it passed."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('expiry-dialog'):
        frame.heading(f'Expiry of {what}', 2).classes('text-lg font-bold')
        ui.label('The contact can read the document until the end of this day. An expired share opens again.')
        expires = date_input('Expires on (empty: never)', current, 'expiry-date')
        error = actions.Message('expiry-error')

        async def confirm(act: actions.Act) -> None:
            await act.call(sharing.change_expiry, share_id=share_id, expires_on=expires.value or None)
            dialog.close()
            act.done()
            outcome.success('Expiry changed.')
            if on_done is not None:
                await _maybe_await(on_done())

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            actions.button('Save expiry', confirm, message=error).mark('expiry-save')
    return dialog


RECEIPT_COLUMNS = [col('email', 'Email'), col('code_state', 'Activation code'), col('first_viewed', 'First viewed'),
                   col('last_viewed', 'Last viewed'), col('downloads', 'Downloads'),
                   col('acknowledged', 'Acknowledged'), col('replies', 'Replies'), col('state', 'State', key=True)]
# static Vue templates: row values are interpolated by Vue, never pasted into the template text
SHARE_ACTIONS_CELL = ('<q-td :props="props"><div class="column items-start">'
                      '<q-btn v-if="props.row.active" flat dense color="negative" label="Rescind" '
                      '@click.stop="$parent.$emit(\'rescind\', props.row)" />'
                      '<q-btn v-if="props.row.can_extend" flat dense color="primary" label="Expiry" '
                      '@click.stop="$parent.$emit(\'expiry\', props.row)" /></div></q-td>')


def receipt_cells(receipt: sharing.ShareReceipt | None) -> dict:
    """A share's receipt as table cells (the send history and the contact chart)."""
    if receipt is None:
        return {'email': '', 'code_state': '', 'first_viewed': '', 'last_viewed': '', 'downloads': '',
                'acknowledged': '', 'replies': '', 'state': '', 'active': False, 'can_extend': False,
                'expires_on': ''}
    email = receipt.email or '—'
    if receipt.reminders:
        email += f'; unread reminders: {receipt.reminders}'
    # what the contact can do now (account, pending code, bounced invitation) and until when
    state = receipt.state if not receipt.active else \
        '; '.join(part for part in (receipt.access, receipt.expires) if part) or 'active'
    return {'email': email, 'code_state': receipt.code_state or '—', 'first_viewed': when(receipt.first_viewed) or '—',
            'last_viewed': when(receipt.last_viewed) or '—', 'downloads': receipt.downloads,
            'acknowledged': receipt.acknowledged or 'not asked', 'replies': receipt.replies, 'state': state,
            'active': receipt.active, 'can_extend': receipt.active or receipt.expired,
            'expires_on': receipt.expires_on.isoformat() if receipt.expires_on else ''}


_ZONE: dict[str, ZoneInfo] = {'zone': ZoneInfo('UTC')}


def use_zone(settings: PortalSettings) -> None:
    """Show times in the portal's time zone (Admin → Settings; one zone for the whole portal, as contacts see)."""
    try:
        _ZONE['zone'] = ZoneInfo(settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        _ZONE['zone'] = ZoneInfo('UTC')


def when(value: Any, fmt: str = '%Y-%m-%d %H:%M') -> str:
    """A date or datetime as text in the portal's time zone ('' for None)."""
    if value is None:
        return ''
    if not hasattr(value, 'hour'):
        return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_ZONE['zone']).strftime(fmt)
