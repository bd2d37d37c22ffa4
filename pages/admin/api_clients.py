"""`/admin/api`: API clients of the clinic's EHR (scopes, addresses, expiry; secret shown once; rotate, revoke)
and the webhooks the portal calls back, with each delivery's last status."""
from __future__ import annotations

from nicegui import ui

from services import api_clients, webhooks

from .. import access, actions
from ..portal import Page, portal_page
from ..tables import col

CLIENT_COLUMNS = [col('id', 'ID'), col('name', 'Name', key=True), col('scopes', 'Scopes'), col('state', 'State', key=True),
                  col('addresses', 'Allowed addresses'), col('expires', 'Expires'), col('last_used', 'Last used'),
                  col('hint', 'Secret starts')]
HOOK_COLUMNS = [col('id', 'ID'), col('url', 'URL', key=True), col('events', 'Events'), col('active', 'Active', key=True),
                col('pending', 'Pending', number=True), col('failed', 'Failed', number=True),
                col('last', 'Last delivery')]
DELIVERY_COLUMNS = [col('id', 'ID'), col('webhook', 'Webhook'), col('event', 'Event', key=True), col('status', 'Status', key=True),
                    col('attempts', 'Attempts', number=True), col('created', 'Created'), col('next', 'Next attempt'),
                    col('last', 'Last answer')]


@portal_page('/admin/api', roles=access.ADMIN, title='API and webhooks')
async def api_clients_page(page: Page) -> None:
    """Clients and webhooks: create (secret shown once), rotate, revoke, pause; lists with last use and status."""
    ui.label('API clients and webhooks').classes('text-2xl font-bold').mark('admin-api')
    ui.label('The clinic\'s EHR calls /api/v1 with a client\'s secret as "Authorization: Bearer". '
             'A secret is shown once: copy it into the EHR now.').classes('text-sm text-grey-8')
    secret_card = SecretCard()
    clients = ui.table(columns=CLIENT_COLUMNS, rows=[], row_key='id').classes('w-full').mark('api-clients')
    hooks = ui.table(columns=HOOK_COLUMNS, rows=[], row_key='id').classes('w-full')

    async def reload() -> None:
        found = await actions.read(api_clients.list_clients)
        if found is not None:
            clients.rows = [_client_row(c) for c in found]
            choose.options = {c.id: f'{c.id} · {c.name} ({c.state})' for c in found}
            choose.update()
        hook_rows = await actions.read(webhooks.list_webhooks)
        if hook_rows is not None:
            hooks.rows = [_hook_row(h) for h in hook_rows]
            choose_hook.options = {h.id: f'{h.id} · {h.url}' for h in hook_rows}
            choose_hook.update()
        deliveries = await actions.read(webhooks.list_deliveries, limit=50)
        if deliveries is not None:
            delivery_table.rows = [_delivery_row(d) for d in deliveries]

    with ui.expansion('New API client', icon='key').classes('w-full').mark('new-client'):
        name = ui.input('Name (e.g. the EHR interface)').classes('w-full max-w-md').mark('client-name')
        scopes = ui.select(list(api_clients.SCOPES), multiple=True, label='Scopes') \
            .classes('w-full max-w-xl').mark('client-scopes')
        addresses = ui.input('Allowed client addresses (optional: IPs or networks, e.g. 10.1.0.0/16)') \
            .classes('w-full max-w-md').mark('client-addresses')
        expires = ui.input('Expires on (optional, YYYY-MM-DD)').classes('w-64').mark('client-expires')
        create_message = actions.Message('client-message')

        async def create(act: actions.Act) -> None:
            issued = await act.call(api_clients.create_client, name=name.value, scopes=list(scopes.value or []),
                                    allowed_addresses=addresses.value or '', expires_on=expires.value or None)
            secret_card.show(f'Secret of client {issued.client_id}', issued.secret)
            name.value = addresses.value = expires.value = ''
            scopes.value = []
            await reload()
            act.done(f'API client {issued.client_id} created. Copy its secret now: it is not shown again.')

        actions.button('Create client', create, message=create_message, enter=[name]).mark('create-client')

    ui.label('Clients').classes('text-lg font-bold mt-4')
    clients.move(target_index=-1)
    with ui.row().classes('items-end gap-3'):
        choose = ui.select({}, label='Client').classes('w-80').mark('choose-client')
        client_message = actions.Message('client-action-message')

        async def rotate(act: actions.Act) -> None:
            if not choose.value:
                act.fail('Choose a client first.')
            issued = await act.call(api_clients.rotate_secret, client_id=choose.value)
            secret_card.show(f'New secret of client {issued.client_id}', issued.secret)
            await reload()
            act.done(f'Client {issued.client_id} has a new secret; the old one no longer works.')

        async def revoke(act: actions.Act) -> None:
            if not choose.value:
                act.fail('Choose a client first.')
            client_id = choose.value
            await act.call(api_clients.revoke_client, client_id=client_id)
            await reload()
            act.done(f'Client {client_id} was revoked.')

        actions.button('Rotate secret', rotate, message=client_message).mark('rotate-client')
        actions.button('Revoke', revoke, message=client_message).props('color=negative').mark('revoke-client')

    ui.label('Webhooks').classes('text-lg font-bold mt-6')
    ui.label('The portal posts each event (ids and the event type only) to the URL, signed with '
             'X-SMP-Signature: v1=HMAC-SHA256(secret, "<X-SMP-Timestamp>.<body>"); failures are retried with backoff.') \
        .classes('text-sm text-grey-8')
    with ui.expansion('New webhook', icon='webhook').classes('w-full').mark('new-webhook'):
        url = ui.input('URL (https://...)').classes('w-full max-w-xl').mark('hook-url')
        events = ui.select(list(webhooks.EVENTS), multiple=True, label='Events').classes('w-full max-w-xl') \
            .mark('hook-events')
        hook_message = actions.Message('hook-message')

        async def add_hook(act: actions.Act) -> None:
            hook_id, secret = await act.call(webhooks.create_webhook, url=url.value, events=list(events.value or []))
            secret_card.show(f'Signing secret of webhook {hook_id}', secret)
            url.value, events.value = '', []
            await reload()
            act.done(f'Webhook {hook_id} added. Copy its signing secret now: it is not shown again.')

        actions.button('Add webhook', add_hook, message=hook_message, enter=[url]).mark('add-webhook')
    hooks.move(target_index=-1)
    with ui.row().classes('items-end gap-3'):
        choose_hook = ui.select({}, label='Webhook').classes('w-80').mark('choose-webhook')
        pause_message = actions.Message('hook-action-message')

        def set_active(active: bool):
            async def run(act: actions.Act) -> None:
                if not choose_hook.value:
                    act.fail('Choose a webhook first.')
                await act.call(webhooks.set_active, webhook_id=choose_hook.value, active=active)
                await reload()
                act.done('Webhook resumed.' if active else 'Webhook paused.')
            return run

        actions.button('Pause', set_active(False), message=pause_message).mark('pause-webhook')
        actions.button('Resume', set_active(True), message=pause_message).mark('resume-webhook')
    ui.label('Latest deliveries').classes('text-lg font-bold mt-4')
    delivery_table = ui.table(columns=DELIVERY_COLUMNS, rows=[], row_key='id').classes('w-full').mark('deliveries')
    await reload()


class SecretCard:
    """Where a new secret is shown, once."""

    def __init__(self) -> None:
        with ui.card().classes('w-full bg-amber-1') as self.card:
            self.title = ui.label().classes('font-bold')
            self.value = ui.input().props('readonly').classes('w-full font-mono').mark('new-secret')
            self.value.props['aria-label'] = 'New secret'
            ui.label('Shown once: the portal keeps only a hash (or, for webhooks, an encrypted copy to sign with).') \
                .classes('text-xs')
        self.card.set_visibility(False)

    def show(self, title: str, secret: str) -> None:
        self.title.text = title
        self.value.value = secret
        self.card.set_visibility(True)


def _client_row(client: api_clients.ApiClientRow) -> dict:
    return {'id': client.id, 'name': client.name, 'scopes': ' '.join(client.scopes), 'state': client.state,
            'addresses': client.allowed_addresses or 'any',
            'expires': f'{client.expires_at:%Y-%m-%d %H:%M}' if client.expires_at else 'never',
            'last_used': (f'{client.last_used_at:%Y-%m-%d %H:%M} from {client.last_used_from}'
                          if client.last_used_at else 'never'),
            'hint': client.secret_hint + '…'}


def _hook_row(hook: webhooks.WebhookRow) -> dict:
    return {'id': hook.id, 'url': hook.url, 'events': ' '.join(hook.events), 'active': 'yes' if hook.is_active else
            'paused', 'pending': hook.pending, 'failed': hook.failed, 'last': hook.last_status}


def _delivery_row(delivery: webhooks.DeliveryRow) -> dict:
    return {'id': delivery.id, 'webhook': delivery.webhook_id, 'event': delivery.event_type,
            'status': delivery.status, 'attempts': delivery.attempts,
            'created': f'{delivery.created_at:%Y-%m-%d %H:%M:%S}',
            'next': f'{delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}' if delivery.status == 'pending' else '',
            'last': delivery.last_status}
