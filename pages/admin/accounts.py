"""`/admin/accounts`: staff and admin accounts, contact accounts; every action goes through an audited service."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from nicegui import ui

from models.shapes import Actor
from services import accounts_admin, second_factor

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page
from ..tables import PagedTable, col

PAGE_SIZE = 25
COLUMNS = [col('username', 'Username'), col('name', 'Name', key=True), col('role', 'Role'), col('status', 'Status', key=True),
           col('last', 'Last sign-in'), col('two_step', 'Two-step sign-in')]
TWO_STEP_FILTER = {'': 'Everyone', 'enrolled': 'Two-step set up', 'not_enrolled': 'Two-step not set up'}


@portal_page('/admin/accounts', roles=access.ADMIN, title='Accounts')
async def accounts_page(page: Page) -> None:
    """Two lists (staff/admins and contacts), each searchable and paged on the server; click a row to act."""
    heading('Accounts').classes('text-2xl font-bold').mark('admin-accounts')
    with ui.tabs().classes('w-full') as tabs:
        staff_tab = ui.tab('Staff and administrators').mark('tab-staff')
        contact_tab = ui.tab('Contact accounts').mark('tab-contacts')
    with ui.tab_panels(tabs, value=staff_tab).classes('w-full'):
        with ui.tab_panel(staff_tab):
            create_form()
            await AccountList.create('staff', page.signed_in)
        with ui.tab_panel(contact_tab):
            await AccountList.create('contact', page.signed_in)


def create_form() -> None:
    """New staff or admin account: the person gets an email with a code to set a password."""
    with ui.expansion('New staff or admin account', icon='person_add').classes('w-full').mark('new-account'):
        email = ui.input('Email').classes('w-full max-w-md').mark('new-email')
        name = ui.input('Name').classes('w-full max-w-md').mark('new-name')
        role = ui.select({'staff': 'Staff', 'admin': 'Administrator'}, value='staff', label='Role') \
            .classes('w-48').mark('new-role')

        async def create(act: actions.Act) -> None:
            row = await act.call(accounts_admin.create_staff_account, email=email.value, display_name=name.value,
                                 role=role.value)
            email.value = name.value = ''
            act.done(f'Account {row.username} created; an email asks them to set a password.')

        button = ui.button('Create account').mark('create-account')
        button.on_click(actions.Action(create, triggers=[button], message=actions.Message('error-new')))


class AccountList:
    """Search box, paged table and the detail card of the clicked account."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.search = ui.input('Search (name, email' + (', contact or organization)' if kind == 'contact' else ')')) \
            .props('clearable debounce=400').classes('w-full max-w-md').mark(f'search-{kind}')
        self.two_step = ui.select(TWO_STEP_FILTER, value='', label='Two-step sign-in').classes('w-64') \
            .mark(f'two-step-filter-{kind}')
        self.pager: PagedTable | None = None

    @classmethod
    async def create(cls, kind: str, actor: Actor) -> AccountList:
        """The search box, the table with its first page, and room for the clicked account."""
        self = cls(kind)
        self.pager = await PagedTable.create(COLUMNS, self.fetch, actor=actor, mark=f'accounts-{kind}',
                                             page_size=PAGE_SIZE, flat=False, empty='No accounts match.',
                                             on_click=lambda row: self.show(row['id']))
        ui.label('Click an account to see it and act on it.').classes('text-xs text-grey-7')
        self.detail = ui.column().classes('w-full')
        self.panel: AccountPanel | None = None
        self.search.on_value_change(lambda: self.pager.load(1))
        self.two_step.on_value_change(lambda: self.pager.load(1))
        return self

    async def fetch(self, actor: Actor, offset: int, limit: int) -> tuple[list[dict], int]:
        rows, total = await access.call(accounts_admin.list_accounts, actor=actor, kind=self.kind,
                                        search=self.search.value or '', offset=offset, limit=limit,
                                        two_step=self.two_step.value or '')
        return [_row(r) for r in rows], total

    async def reload(self) -> None:
        assert self.pager is not None
        await self.pager.reload()

    async def show(self, account_id: int) -> None:
        info = await actions.read(accounts_admin.account_detail, account_id=account_id)
        if info is None:
            return
        if self.panel is None:
            with self.detail:
                self.panel = AccountPanel(self.kind, after_change=self.reload)
        self.panel.message.clear()
        self.panel.show(info)


class AccountPanel:
    """The clicked account and its actions: built once, then filled with each account clicked.

    The buttons stay while the admin works (an action's button must outlive the action); their visibility and
    wording follow the account shown.
    """

    def __init__(self, kind: str, after_change: Callable[[], Awaitable[None]]) -> None:
        self.kind, self.after_change = kind, after_change
        self.info: accounts_admin.AccountDetail | None = None
        with ui.card().classes('w-full gap-2').mark('account-detail'):
            self.facts = ui.column().classes('w-full gap-1')
            with ui.row().classes('gap-2 flex-wrap'):
                self.buttons = {
                    'disable': ui.button('Disable').props('outline color=negative'),
                    'enable': ui.button('Enable').props('outline'),
                    'end-sessions': ui.button('End all sessions').props('outline'),
                    'reset-password': ui.button('Send password reset').props('outline'),
                    'change-role': ui.button('Make admin').props('outline'),
                    'unlock': ui.button('Unlock sign-in').props('outline'),
                    'reset-two-step': ui.button('Reset two-step sign-in').props('outline'),
                    'force-two-step': ui.button('Require two-step at next sign-in').props('outline'),
                }
            self.message = actions.Message('account-message')
        for mark, button in self.buttons.items():
            button.mark(mark).on_click(actions.Action(partial(self.change, mark), triggers=[button],
                                                      message=self.message))

    def show(self, info: accounts_admin.AccountDetail) -> None:
        self.info = info
        account = info.account
        self.facts.clear()
        with self.facts:
            _facts(info, self.kind)
        self.buttons['disable'].set_visibility(account.active)
        self.buttons['enable'].set_visibility(not account.active)
        self.buttons['reset-password'].set_visibility(self.kind != 'contact')
        self.buttons['change-role'].set_visibility(self.kind != 'contact')
        self.buttons['change-role'].text = f'Make {_other_role(account)}'
        self.buttons['reset-two-step'].set_visibility(bool(account.second_factors))
        self.buttons['force-two-step'].text = ('No longer require two-step at next sign-in'
                                               if account.second_factor_forced else
                                               'Require two-step at next sign-in')

    async def change(self, mark: str, act: actions.Act) -> None:
        assert self.info is not None
        account = self.info.account
        fn, options = _CHANGES[mark](account)
        await act.call(fn, account_id=account.id, **options)
        self.show(await act.read(accounts_admin.account_detail, account_id=account.id))
        await self.after_change()
        act.done('Done.')


def _other_role(account: accounts_admin.AccountRow) -> str:
    return 'staff' if account.role == 'admin' else 'admin'


_CHANGES: dict[str, Callable[[accounts_admin.AccountRow], tuple[Callable[..., Any], dict[str, Any]]]] = {
    'disable': lambda account: (accounts_admin.set_active, {'active': False}),
    'enable': lambda account: (accounts_admin.set_active, {'active': True}),
    'end-sessions': lambda account: (accounts_admin.end_sessions, {}),
    'reset-password': lambda account: (accounts_admin.reset_password, {}),
    'change-role': lambda account: (accounts_admin.change_role, {'role': _other_role(account)}),
    'unlock': lambda account: (accounts_admin.unlock, {}),
    'reset-two-step': lambda account: (second_factor.admin_reset, {}),
    'force-two-step': lambda account: (second_factor.admin_force, {'forced': not account.second_factor_forced}),
}


def _facts(info: accounts_admin.AccountDetail, kind: str) -> None:
    account = info.account
    heading(f'{account.display_name or account.username} ({account.username})', 2).classes('text-lg font-bold') \
        .mark('detail-username')
    ui.label(f'Role: {account.role} · {"active" if account.active else "disabled"} · '
             f'{info.open_sessions} open session(s) · created {info.created_at:%Y-%m-%d}').classes('text-sm')
    ui.label(f'Two-step sign-in: {_two_step(account)}'
             + (' · must set it up at the next sign-in' if account.second_factor_forced else '')) \
        .classes('text-sm').mark('detail-two-step')
    if info.locked_until:
        ui.label(f'Sign-in locked until {info.locked_until:%Y-%m-%d %H:%M} UTC after failed attempts.') \
            .classes('text-warning').mark('locked')
    if kind == 'contact':
        ui.label('Linked contacts').classes('text-sm font-bold')
        for contact in info.contacts:
            ui.label(f'{contact.name} · {contact.email} · {contact.organization}').classes('text-sm').mark('linked-contact')
        if not info.contacts:
            ui.label('No linked contacts.').classes('text-sm text-grey-7')


def _row(row: accounts_admin.AccountRow) -> dict:
    return {'id': row.id, 'username': row.username, 'name': row.display_name, 'role': row.role,
            'status': 'active' if row.active else 'disabled',
            'last': row.last_sign_in_at.strftime('%Y-%m-%d %H:%M') if row.last_sign_in_at else '',
            'two_step': _two_step(row)}


def _two_step(row: accounts_admin.AccountRow) -> str:
    if not row.second_factors:
        return 'not set up'
    return ', '.join(second_factor.FACTOR_LABELS.get(f, f) for f in row.second_factors)
