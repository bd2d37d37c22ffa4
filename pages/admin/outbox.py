"""The built-in outbox (`/admin/outbox`): every email, newest first, rendered, with retry and cancel."""
from __future__ import annotations

from nicegui import ui

from services import email_admin, mailer, outbox
from services.settings import get_settings

from .. import guard, page
from ..frame import frame_legacy as frame

PAGE_SIZE = 25
STATUSES = {'': 'All', 'pending': 'Pending', 'sending': 'Sending', 'sent': 'Sent', 'failed': 'Failed',
            'cancelled': 'Cancelled'}
COLUMNS = [
    {'name': 'id', 'label': 'ID', 'field': 'id', 'align': 'left'},
    {'name': 'created', 'label': 'Created', 'field': 'created', 'align': 'left'},
    {'name': 'kind', 'label': 'Kind', 'field': 'kind', 'align': 'left'},
    {'name': 'to', 'label': 'Recipient', 'field': 'to', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
    {'name': 'attempts', 'label': 'Attempts', 'field': 'attempts'},
    {'name': 'next', 'label': 'Next attempt', 'field': 'next', 'align': 'left'},
    {'name': 'error', 'label': 'Last error', 'field': 'error', 'align': 'left'},
]


def register() -> None:
    page('/admin/outbox')(outbox_page)


async def outbox_page() -> None:
    """List emails with server-side paging; open one to read it as sent."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    with frame('Outbox', actor):
        with ui.row().classes('w-full items-center gap-4'):
            ui.label('Outbox').classes('text-2xl font-bold').mark('outbox-page')
            ui.space()
            ui.link('Email delivery (SMTP)', '/admin/email')
            ui.link('Email templates', '/admin/templates')
        if mailer.smtp_config(get_settings()) is None:
            ui.label('No mail server is configured: emails stay here, unsent. Open one to read it and follow its links.') \
                .classes('text-warning').mark('no-smtp')
        with ui.row().classes('gap-3'):
            status = ui.select(STATUSES, value='', label='Status').classes('w-48').mark('status')
            kind = ui.select({'': 'All'} | email_admin.template_kinds(), value='', label='Kind') \
                .classes('w-64').mark('kind')
        table = ui.table(columns=COLUMNS, rows=[], row_key='id',
                         pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': 0}).classes('w-full').mark('outbox')
        viewer = ui.column().classes('w-full')

        async def load(page: int = 1) -> None:
            if await guard.require(*guard.ADMIN) is None:
                return
            rows, total = await guard.call(outbox.list_emails, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                           status=status.value or None, kind=kind.value or None)
            table.rows = [_row(e) for e in rows]
            table.pagination = {**table.pagination, 'page': page, 'rowsNumber': total}

        async def on_request(event) -> None:
            await load(event.args['pagination']['page'])

        async def show(event) -> None:
            if await guard.require(*guard.ADMIN) is None:
                return
            email_id = event.args[1]['id']
            email = await guard.call(outbox.get_email, email_id=email_id)
            viewer.clear()
            if email is None:
                return
            with viewer, ui.card().classes('w-full'):
                ui.label(email.subject).classes('text-lg font-bold').mark('email-subject')
                ui.label(f'To {email.to_address} · Message-ID {email.message_id}').classes('text-xs text-grey-7')
                ui.label(_state(email)).classes('text-sm').mark('email-state')
                # our own rendered template (autoescaped); ui.html keeps its default sanitizing
                ui.html(email.body_html).classes('w-full border rounded p-2').mark('email-html')
                with ui.row():
                    if email.status in ('failed', 'pending', 'cancelled'):
                        ui.button('Retry now', on_click=lambda: act(email_admin.retry_email, email.id)) \
                            .props('outline').mark('retry')
                    if email.status in ('pending', 'failed'):
                        ui.button('Cancel', on_click=lambda: act(email_admin.cancel_email, email.id)) \
                            .props('outline color=negative').mark('cancel')

        async def act(fn, email_id: int) -> None:
            me = await guard.require(*guard.ADMIN)
            if me is None:
                return
            email = await guard.call(fn, email_id=email_id, actor=me)
            viewer.clear()
            ui.notify(f'Email {email_id} is now {email.status}.' if email else 'Done.')
            await load(table.pagination.get('page', 1))

        table.on('request', on_request)
        table.on('row-click', show)
        status.on_value_change(lambda: load(1))
        kind.on_value_change(lambda: load(1))
        await load(1)


def _state(email) -> str:
    attempts = f'{email.attempts} attempt{"" if email.attempts == 1 else "s"}'
    if email.status == 'sent' and email.sent_at:
        return f'Sent {email.sent_at:%Y-%m-%d %H:%M} UTC after {attempts}.'
    if email.status == 'pending':
        return f'Pending, next attempt {email.next_attempt_at:%Y-%m-%d %H:%M} UTC ({attempts} so far).'
    if email.status == 'failed':
        return f'Failed after {attempts}: {email.last_error or "no answer"}'
    return f'{email.status.title()} ({attempts}).'


def _row(email) -> dict:
    return {'id': email.id, 'created': email.created_at.strftime('%Y-%m-%d %H:%M'), 'kind': email.kind,
            'to': email.to_address, 'status': email.status, 'attempts': email.attempts,
            'next': email.next_attempt_at.strftime('%Y-%m-%d %H:%M') if email.status == 'pending' else '',
            'error': (email.last_error or '')[:120]}
