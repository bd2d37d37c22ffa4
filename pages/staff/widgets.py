"""Building blocks shared by the clinic pages: server-paged tables, the chart and contact forms,
the Send Document dialog and the rescind dialog."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from services import charts, contacts, sharing
from services.errors import PortalError

from .. import guard

PAGE_SIZE = 25
Fetch = Callable[[int, int], Awaitable[tuple[list[dict], int]]]


def col(name: str, label: str, **extra: Any) -> dict:
    """A left-aligned table column whose field is its name."""
    return {'name': name, 'label': label, 'field': name, 'align': 'left', **extra}


class PagedTable:
    """A ui.table paged on the server: `fetch(offset, limit)` returns one page of rows and the total."""

    def __init__(self, columns: list[dict], fetch: Fetch, *, mark: str, row_key: str = 'id',
                 page_size: int = PAGE_SIZE, selection: str | None = None,
                 on_click: Callable[[dict], Any] | None = None, link: tuple[str, str] | None = None) -> None:
        self.fetch, self.page_size = fetch, page_size
        self.table = ui.table(columns=columns, rows=[], row_key=row_key, selection=selection,
                              pagination={'rowsPerPage': page_size, 'page': 1, 'rowsNumber': 0}) \
            .classes('w-full').props('flat bordered wrap-cells').mark(mark)
        self.table.on('request', lambda e: self.load(e.args['pagination']['page']))
        if on_click is not None:
            self.table.on('row-click', lambda e: on_click(e.args[1]))
            self.table.classes('cursor-pointer')
        if link is not None:  # column name, row field holding a same-site path: a real link for keyboards
            name, field = link
            self.table.add_slot(f'body-cell-{name}', f'<q-td :props="props"><a :href="props.row.{field}" '
                                'class="text-primary" @click.stop>{{ props.value }}</a></q-td>')

    def start(self) -> PagedTable:
        """Load the first page once the browser is connected (the page shows at once; rows follow)."""
        ui.timer(0.01, lambda: self.load(1), once=True)
        return self

    async def load(self, page: int = 1) -> None:
        """Show one page (the caller's guard runs inside `fetch`)."""
        result = await self.fetch((page - 1) * self.page_size, self.page_size)
        if result is None:
            return
        rows, total = result
        self.table.rows = rows
        self.table.pagination = {**self.table.pagination, 'page': page, 'rowsNumber': total}


def error_label(mark: str = 'error') -> ui.label:
    """A hidden red label for service messages."""
    label = ui.label().classes('text-negative').mark(mark)
    label.set_visibility(False)
    return label


def show_error(label: ui.label, message: str | None) -> None:
    label.text = message or ''
    label.set_visibility(bool(message))


# ----------------------------------------------------------------------------- chart form

def chart_dialog(chart: charts.ChartRow | None, on_saved: Callable[[int], Any]) -> ui.dialog:
    """Create (chart None) or edit a chart."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2'):
        ui.label('Edit chart' if chart else 'New chart').classes('text-lg font-bold')
        with ui.row().classes('w-full no-wrap gap-2'):
            first = ui.input('First name', value=chart.first_name if chart else '').classes('grow').mark('chart-first')
            last = ui.input('Last name', value=chart.last_name if chart else '').classes('grow').mark('chart-last')
        birth = ui.input('Date of birth (YYYY-MM-DD)', value=str(chart.date_of_birth or '') if chart else '') \
            .props('type=date stack-label').mark('chart-birth')
        external = ui.input('External id', value=chart.external_id if chart else '').mark('chart-external')
        email = ui.input('Email', value=chart.email if chart else '').mark('chart-email')
        phone = ui.input('Phone', value=chart.phone if chart else '').mark('chart-phone')
        employer = ui.input('Employer', value=chart.employer if chart else '').mark('chart-employer')
        error = error_label('chart-error')

        async def save() -> None:
            actor = await guard.require(*guard.STAFF)
            if actor is None:
                return
            try:
                chart_id = await guard.call(
                    charts.save_chart, actor=actor, chart_id=chart.id if chart else None, first_name=first.value,
                    last_name=last.value, date_of_birth=birth.value, external_id=external.value, email=email.value,
                    phone=phone.value, employer=employer.value)
            except PortalError as problem:
                show_error(error, str(problem))
                return
            dialog.close()
            ui.notify('Chart saved.', type='positive')
            await _maybe_await(on_saved(chart_id))

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Save chart', on_click=save).mark('chart-save')
    return dialog


async def _maybe_await(value: Any) -> None:
    if isinstance(value, Awaitable):
        await value


# ----------------------------------------------------------------------------- contact form

def contact_form(on_added: Callable[[contacts.ContactRow], Any]) -> ui.column:
    """First name, last name, email (required), phone, organization; warns about duplicates."""
    with ui.column().classes('w-full gap-1') as form:
        with ui.row().classes('w-full no-wrap gap-2'):
            first = ui.input('First name').classes('grow').mark('contact-first')
            last = ui.input('Last name').classes('grow').mark('contact-last')
        email = ui.input('Email').classes('w-full').mark('contact-email')
        with ui.row().classes('w-full no-wrap gap-2'):
            phone = ui.input('Phone (optional)').classes('grow').mark('contact-phone')
            org = ui.input('Organization (optional)').classes('grow').mark('contact-org')
        error = error_label('contact-error')
        confirm = ui.checkbox('This is a different person with the same name').mark('contact-confirm')
        confirm.set_visibility(False)

        async def add() -> None:
            actor = await guard.require(*guard.STAFF)
            if actor is None:
                return
            try:
                row = await guard.call(contacts.add_contact, actor=actor, first_name=first.value,
                                       last_name=last.value, email=email.value, phone=phone.value,
                                       organization=org.value, confirm_same_name=confirm.value)
            except contacts.PossibleDuplicate as problem:
                show_error(error, str(problem))
                confirm.set_visibility(True)
                return
            except PortalError as problem:
                show_error(error, str(problem))
                return
            show_error(error, None)
            for field in (first, last, email, phone, org):
                field.value = ''
            confirm.value = False
            confirm.set_visibility(False)
            ui.notify(f'Contact {row.name} added.', type='positive')
            await _maybe_await(on_added(row))

        ui.button('Add contact', icon='person_add', on_click=add).props('outline').mark('contact-add')
    return form


# ----------------------------------------------------------------------------- Send Document

def send_dialog(document_ids: list[int], on_sent: Callable[[], Any]) -> ui.dialog:
    """Choose one or several recipients (search, or add a new contact) and send the documents."""
    chosen: dict[int, contacts.ContactRow] = {}
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-2xl gap-2').mark('send-dialog'):
        count = len(document_ids)
        ui.label(f'Send {count} document{"s" if count != 1 else ""}').classes('text-lg font-bold')
        ui.label('Recipients').classes('text-sm text-grey-8')
        chips = ui.row().classes('gap-1 min-h-8').mark('recipients')
        search = ui.input('Find a recipient: name, email or organization') \
            .props('clearable debounce=250 outlined dense').classes('w-full').mark('recipient-search')
        results = ui.list().props('dense bordered separator').classes('w-full')
        with ui.expansion('New contact', icon='person_add').classes('w-full').mark('new-contact'):
            contact_form(lambda row: choose(row))
        error = error_label('send-error')

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
            actor = await guard.require(*guard.STAFF)
            if actor is None:
                return
            results.clear()
            query = (search.value or '').strip()
            if not query:
                return
            rows, total = await guard.call(contacts.search_contacts, actor=actor, query=query, limit=8)
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

        async def send() -> None:
            actor = await guard.require(*guard.STAFF)
            if actor is None:
                return
            try:
                results_ = await guard.call(sharing.send_documents, document_ids=document_ids,
                                            contact_ids=list(chosen), actor=actor)
            except PortalError as problem:
                show_error(error, str(problem))
                return
            invitations = sum(1 for r in results_ if r.email_kind == 'invitation')
            dialog.close()
            ui.notify(f'Sent {len(results_)} share{"s" if len(results_) != 1 else ""}'
                      f'{f" ({invitations} with an invitation)" if invitations else ""}.', type='positive')
            await _maybe_await(on_sent())

        search.on_value_change(find)
        show_chosen()
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Send', icon='send', on_click=send).mark('send')
    return dialog


# ----------------------------------------------------------------------------- rescind

def rescind_dialog(share_id: int, what: str, on_done: Callable[[], Any]) -> ui.dialog:
    """Ask for the reason, then rescind: the contact loses access at once."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('rescind-dialog'):
        ui.label(f'Rescind {what}').classes('text-lg font-bold')
        ui.label('The contact loses access at once. The reason is kept in the audit log.')
        reason = ui.textarea('Reason').classes('w-full').mark('rescind-reason')
        error = error_label('rescind-error')

        async def confirm() -> None:
            actor = await guard.require(*guard.STAFF)
            if actor is None:
                return
            try:
                await guard.call(sharing.rescind, share_id=share_id, reason=reason.value, actor=actor)
            except PortalError as problem:
                show_error(error, str(problem))
                return
            dialog.close()
            ui.notify('Rescinded.', type='positive')
            await _maybe_await(on_done())

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Rescind', on_click=confirm).props('color=negative').mark('rescind-confirm')
    return dialog


def when(value: Any, fmt: str = '%Y-%m-%d %H:%M') -> str:
    """A date or datetime as text ('' for None)."""
    if value is None:
        return ''
    return value.strftime(fmt) if hasattr(value, 'hour') else str(value)

