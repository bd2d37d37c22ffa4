"""The built-in outbox (`/admin/outbox`): every email, newest first, rendered, with retry and cancel."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from models import OutboxEmail
from models.shapes import Actor
from services import email_admin, mailer, outbox

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page
from ..tables import PagedTable, col

PAGE_SIZE = 25
STATUSES = {'': 'All', 'pending': 'Pending', 'sending': 'Sending', 'sent': 'Sent', 'failed': 'Failed',
            'cancelled': 'Cancelled'}
COLUMNS = [col('id', 'ID'), col('created', 'Created'), col('kind', 'Kind', key=True), col('to', 'Recipient'),
           col('status', 'Status', key=True), col('attempts', 'Attempts', number=True), col('next', 'Next attempt'),
           col('error', 'Last error')]


@portal_page('/admin/outbox', roles=access.ADMIN, title='Outbox')
async def outbox_page(page: Page) -> None:
    """List emails with server-side paging; open one to read it as sent."""
    with ui.row().classes('w-full items-center gap-4'):
        heading('Outbox').classes('text-2xl font-bold').mark('outbox-page')
        ui.space()
        ui.link('Email delivery (SMTP)', '/admin/email')
        ui.link('Email templates', '/admin/templates')
    if banner := await access.call(outbox.pause_banner, actor=page.actor):
        ui.label(banner).classes('w-full p-3 rounded bg-negative text-white').mark('outbox-paused')
    if mailer.smtp_config(page.settings) is None:
        ui.label('No mail server is configured: emails stay here, unsent. Open one to read it and follow its links.') \
            .classes('text-warning').mark('no-smtp')
    with ui.row().classes('gap-3'):
        status = ui.select(STATUSES, value='', label='Status').classes('w-48').mark('status')
        kind = ui.select({'': 'All'} | email_admin.template_kinds(), value='', label='Kind') \
            .classes('w-64').mark('kind')
        actions.button('Retry all failed', lambda act: _retry_all(act, pager.load), icon='replay') \
            .props('outline').mark('retry-all')

    async def fetch(actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(outbox.list_emails, actor=actor, offset=offset, limit=limit,
                                        status=status.value or None, kind=kind.value or None)
        return [_row(e) for e in rows], total

    pager = await PagedTable.create(COLUMNS, fetch, actor=page.signed_in, mark='outbox', page_size=PAGE_SIZE,
                                    flat=False, empty='No emails.')
    message = actions.Message('outbox-message')
    viewer = EmailViewer(after_change=pager.reload, message=message)

    async def show(event: Any) -> None:
        email = await actions.read(outbox.get_email, email_id=event.args[1]['id'])
        message.clear()
        viewer.show(email)

    pager.table.on('row-click', show)
    pager.table.classes('cursor-pointer')
    status.on_value_change(lambda: pager.load(1))
    kind.on_value_change(lambda: pager.load(1))


async def _retry_all(act: actions.Act, reload: Callable[[int], Awaitable[None]]) -> None:
    count = await act.call(outbox.retry_all_failed)
    await reload(1)
    act.done(f'{count} failed email{"" if count == 1 else "s"} queued again.' if count
             else 'No failed emails to retry.')


class EmailViewer:
    """The opened email as sent, with Retry now and Cancel (built once; the buttons outlive their actions)."""

    def __init__(self, after_change: Callable[[], Awaitable[None]], message: actions.Message) -> None:
        self.after_change = after_change
        self.email: OutboxEmail | None = None
        with ui.card().classes('w-full') as self.card:
            self.subject = heading('', 2).classes('text-lg font-bold').mark('email-subject')
            self.to = ui.label().classes('text-xs text-grey-7')
            self.state = ui.label().classes('text-sm').mark('email-state')
            # our own rendered template (autoescaped); ui.html keeps its default sanitizing
            self.html = ui.html('').classes('w-full border rounded p-2').mark('email-html')
            with ui.row():
                self.retry = ui.button('Retry now').props('outline').mark('retry')
                self.cancel = ui.button('Cancel').props('outline color=negative').mark('cancel')
        self.card.set_visibility(False)
        self.retry.on_click(actions.Action(self.act_on(email_admin.retry_email), triggers=[self.retry],
                                           message=message))
        self.cancel.on_click(actions.Action(self.act_on(email_admin.cancel_email), triggers=[self.cancel],
                                            message=message))

    def show(self, email: OutboxEmail | None) -> None:
        self.email = email
        self.card.set_visibility(email is not None)
        if email is None:
            return
        self.subject.text = email.subject
        self.to.text = f'To {email.to_address} · Message-ID {email.message_id}'
        self.state.text = _state(email)
        self.html.content = email.body_html
        self.retry.set_visibility(email.status in ('failed', 'pending', 'cancelled'))
        self.cancel.set_visibility(email.status in ('pending', 'failed'))

    def act_on(self, change: Callable[..., OutboxEmail | None]) -> Callable[[actions.Act], Awaitable[None]]:
        """An action that retries or cancels the email shown, then closes it and reloads the list."""
        async def run(act: actions.Act) -> None:
            assert self.email is not None
            email_id = self.email.id
            email = await act.call(change, email_id=email_id)
            self.show(None)
            await self.after_change()
            act.done(f'Email {email_id} is now {email.status}.' if email else 'Done.')
        return run


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
