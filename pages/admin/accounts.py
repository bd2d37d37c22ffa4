"""`/admin/accounts`: staff and admin accounts, contact accounts; every action goes through an audited service."""
from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from services import accounts_admin
from services.errors import PortalError

from .. import guard, page
from ..frame import frame_legacy as frame

PAGE_SIZE = 25
COLUMNS = [
    {'name': 'username', 'label': 'Username', 'field': 'username', 'align': 'left'},
    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
    {'name': 'role', 'label': 'Role', 'field': 'role', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
    {'name': 'last', 'label': 'Last sign-in', 'field': 'last', 'align': 'left'},
]


def register() -> None:
    page('/admin/accounts')(accounts_page)


async def accounts_page() -> None:
    """Two lists (staff/admins and contacts), each searchable and paged on the server; click a row to act."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    with frame('Accounts', actor):
        ui.label('Accounts').classes('text-2xl font-bold').mark('admin-accounts')
        with ui.tabs().classes('w-full') as tabs:
            staff_tab = ui.tab('Staff and administrators').mark('tab-staff')
            contact_tab = ui.tab('Contact accounts').mark('tab-contacts')
        with ui.tab_panels(tabs, value=staff_tab).classes('w-full'):
            with ui.tab_panel(staff_tab):
                create_form()
                await account_list('staff')
            with ui.tab_panel(contact_tab):
                await account_list('contact')


def create_form() -> None:
    """New staff or admin account: the person gets an email with a code to set a password."""
    with ui.expansion('New staff or admin account', icon='person_add').classes('w-full').mark('new-account'):
        email = ui.input('Email').classes('w-full max-w-md').mark('new-email')
        name = ui.input('Name').classes('w-full max-w-md').mark('new-name')
        role = ui.select({'staff': 'Staff', 'admin': 'Administrator'}, value='staff', label='Role') \
            .classes('w-48').mark('new-role')
        error = ui.label().classes('text-negative').mark('error-new')

        async def create() -> None:
            actor = await guard.require(*guard.ADMIN)
            if actor is None:
                return
            try:
                row = await guard.call(accounts_admin.create_staff_account, actor=actor, email=email.value,
                                       display_name=name.value, role=role.value)
            except PortalError as problem:
                error.text = str(problem)
                return
            error.text = ''
            email.value = name.value = ''
            ui.notify(f'Account {row.username} created; an email asks them to set a password.', type='positive')

        ui.button('Create account', on_click=create).mark('create-account')


async def account_list(kind: str) -> None:
    """Search box, paged table and the detail card of the clicked account."""
    search = ui.input('Search (name, email' + (', contact or organization)' if kind == 'contact' else ')')) \
        .props('clearable debounce=400').classes('w-full max-w-md').mark(f'search-{kind}')
    table = ui.table(columns=COLUMNS, rows=[], row_key='id',
                     pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': 0}) \
        .classes('w-full cursor-pointer').props(f':rows-per-page-options="[{PAGE_SIZE}]"').mark(f'accounts-{kind}')
    ui.label('Click an account to see it and act on it.').classes('text-xs text-grey-7')
    detail = ui.column().classes('w-full')

    latest = {'request': 0}

    async def load(page: int = 1) -> None:
        latest['request'] += 1
        mine = latest['request']
        actor = await guard.require(*guard.ADMIN)
        if actor is None:
            return
        rows, total = await guard.call(accounts_admin.list_accounts, actor=actor, kind=kind, search=search.value or '',
                                       offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        if mine != latest['request']:
            return  # a newer search or page was asked for meanwhile: its answer wins
        table.rows = [_row(r) for r in rows]
        table.pagination = {**table.pagination, 'page': page, 'rowsNumber': total}

    async def show(account_id: int) -> None:
        actor = await guard.require(*guard.ADMIN)
        if actor is None:
            return
        info = await guard.call(accounts_admin.account_detail, actor=actor, account_id=account_id)
        detail.clear()
        with detail, ui.card().classes('w-full gap-2').mark('account-detail'):
            _detail(info, kind, lambda fn, **kw: act(fn, info.account.id, **kw))

    async def act(fn: Callable, account_id: int, **kwargs) -> None:
        actor = await guard.require(*guard.ADMIN)
        if actor is None:
            return
        try:
            await guard.call(fn, actor=actor, account_id=account_id, **kwargs)
        except PortalError as problem:
            ui.notify(str(problem), type='negative')
            return
        ui.notify('Done.', type='positive')
        await load(table.pagination.get('page', 1))
        await show(account_id)

    table.on('request', lambda e: load(e.args['pagination']['page']))
    table.on('row-click', lambda e: show(e.args[1]['id']))
    search.on_value_change(lambda: load(1))
    await load(1)


def _detail(info: accounts_admin.AccountDetail, kind: str, act: Callable) -> None:
    account = info.account
    ui.label(f'{account.display_name or account.username} ({account.username})').classes('text-lg font-bold') \
        .mark('detail-username')
    ui.label(f'Role: {account.role} · {"active" if account.active else "disabled"} · '
             f'{info.open_sessions} open session(s) · created {info.created_at:%Y-%m-%d}').classes('text-sm')
    if info.locked_until:
        ui.label(f'Sign-in locked until {info.locked_until:%Y-%m-%d %H:%M} UTC after failed attempts.') \
            .classes('text-warning').mark('locked')
    if kind == 'contact':
        ui.label('Linked contacts').classes('text-sm font-bold')
        for contact in info.contacts:
            ui.label(f'{contact.name} · {contact.email} · {contact.organization}').classes('text-sm').mark('linked-contact')
        if not info.contacts:
            ui.label('No linked contacts.').classes('text-sm text-grey-7')
    with ui.row().classes('gap-2 flex-wrap'):
        if account.active:
            ui.button('Disable', on_click=lambda: act(accounts_admin.set_active, active=False)) \
                .props('outline color=negative').mark('disable')
        else:
            ui.button('Enable', on_click=lambda: act(accounts_admin.set_active, active=True)).props('outline') \
                .mark('enable')
        ui.button('End all sessions', on_click=lambda: act(accounts_admin.end_sessions)).props('outline') \
            .mark('end-sessions')
        if kind == 'contact':
            ui.button('Unlock sign-in', on_click=lambda: act(accounts_admin.unlock)).props('outline').mark('unlock')
        else:
            ui.button('Send password reset', on_click=lambda: act(accounts_admin.reset_password)).props('outline') \
                .mark('reset-password')
            other = 'staff' if account.role == 'admin' else 'admin'
            ui.button(f'Make {other}', on_click=lambda: act(accounts_admin.change_role, role=other)).props('outline') \
                .mark('change-role')
            ui.button('Unlock sign-in', on_click=lambda: act(accounts_admin.unlock)).props('outline').mark('unlock')


def _row(row: accounts_admin.AccountRow) -> dict:
    return {'id': row.id, 'username': row.username, 'name': row.display_name, 'role': row.role,
            'status': 'active' if row.active else 'disabled',
            'last': row.last_sign_in_at.strftime('%Y-%m-%d %H:%M') if row.last_sign_in_at else ''}
