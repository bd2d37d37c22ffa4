"""`/`: the contact's portal main screen, as the seed describes it.

Top list: new/unread messages and messages not yet replied to (unread ones marked). Below it, once the
contact has replied, the "Replies" list with the number of replies and the last reply date. A LOGOUT button
at the bottom of the lists and, when registration is enabled, NEW REGISTRATION in the lower left.
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from services import messages
from services.settings import PortalSettings

from .. import access, actions
from ..frame import heading
from ..public.registration import start_registration
from ..portal import Page, portal_page
from ..tables import shown_rows

PAGE_SIZE = 25


def _column(name: str, label: str, *, sortable: bool = True) -> dict[str, Any]:
    return {'name': name, 'label': label, 'field': name, 'align': 'left', 'sortable': sortable}


# the seed's columns, in its order; tuples, which NiceGUI keeps as they are instead of copying every column into
# observed dicts on each open (never edited: every page shares them)
COLUMNS = (
    _column('message', 'MESSAGE'), _column('serv_date', 'SERV DATE'), _column('regarding', 'REGARDING'),
    _column('by', 'BY'), _column('type', 'TYPE'), _column('documentation', 'DOCUMENTATION', sortable=False),
)
REPLY_COLUMNS = COLUMNS + (_column('replies', 'REPLIES'), _column('last_reply', 'LAST REPLY'))

# phones (< 600 px) get the table's grid mode (the `item` card below); a leading colon makes a JS expression
TABLE_PROPS = ('flat bordered wrap-cells binary-state-sort :rows-per-page-options="[10,25,50,100]" '
               ':grid="window.matchMedia(\'(max-width: 599px)\').matches" no-data-label="No messages here." '
               # beyond messages.COUNT_EXACT_UP_TO rows the count is an estimate (or that bound + 1 on SQLite)
               ':pagination-label="(first, last, total) => `${first}-${last} of ${total > 1000 ? \'more than 1,000\' '
               ': total}`"')
# Vue templates: row values are interpolated by Vue ({{ }} escapes), never pasted into the template text
MESSAGE_CELL = r'''
<q-td :props="props">
  <a :href="'/message/' + props.row.id" class="row no-wrap items-center q-gutter-x-sm text-primary"
     style="text-decoration: none">
    <q-icon name="description" size="sm" />
    <span :class="props.row.unread ? 'text-weight-bold' : ''">{{ props.row.message }}</span>
    <q-badge v-if="props.row.unread" color="primary" label="NEW" />
    <q-badge v-if="props.row.action_needed" color="warning" label="Action needed" />
  </a>
</q-td>
'''
DOCUMENTATION_CELL = r'''
<q-td :props="props">
  <q-btn v-if="props.row.can_reply" flat round dense color="black" icon="reply"
         :href="'/message/' + props.row.id + '?reply=1'" aria-label="Reply To">
    <q-tooltip>Reply To</q-tooltip>
  </q-btn>
</q-td>
'''
# grid mode: one card per message
ITEM_CARD = r'''
<div class="col-12 q-pa-xs">
  <q-card flat bordered :class="props.row.unread ? 'bg-blue-1' : ''">
    <q-card-section class="row no-wrap items-start q-pa-sm q-gutter-x-sm">
      <q-btn flat round dense color="primary" icon="description" :href="'/message/' + props.row.id"
             :aria-label="'Open message: ' + props.row.message" />
      <div class="col">
        <div :class="props.row.unread ? 'text-weight-bold' : ''">
          {{ props.row.message }} <q-badge v-if="props.row.unread" color="primary" label="NEW" />
          <q-badge v-if="props.row.action_needed" color="warning" label="Action needed" />
        </div>
        <div class="text-caption text-grey-8">{{ props.row.serv_date }} · {{ props.row.regarding }}</div>
        <div class="text-caption text-grey-8">{{ props.row.by }} · {{ props.row.type }}</div>
        <div v-if="props.row.replies" class="text-caption text-grey-8">
          Replies: {{ props.row.replies }} · last {{ props.row.last_reply }}
        </div>
      </div>
      <q-btn v-if="props.row.can_reply" flat round dense color="black" icon="reply"
             :href="'/message/' + props.row.id + '?reply=1'" aria-label="Reply To" />
    </q-card-section>
  </q-card>
</div>
'''


# the phone-card template is sent only to a browser that shows the phone layout (now or after a resize):
# assets/portal.js emits this global event then
PHONE_LAYOUT_EVENT = 'smp_phone_layout'


def _first_screen(session: Any, *, actor: Any) -> messages.MainScreen:
    """The main screen's first read, done with the session check (one thread hop for the whole open)."""
    return messages.main_screen(session, actor=actor, messages=messages.PageRequest(limit=PAGE_SIZE))


@portal_page('/', roles=access.CONTACT, title='Messages', others_go_home=True, prefetch=_first_screen)
async def contact_home(page: Page) -> None:
    """The message lists of every contact the account holds; staff and admins go to their own start pages."""
    actor, settings = page.signed_in, page.settings
    heading('Secure messages').classes('text-2xl font-bold').mark('messages-title')
    search = ui.input('Search messages', placeholder='Title, regarding, by or type') \
        .props('outlined dense clearable debounce=400').classes('w-full sm:w-96').mark('search')
    search.props('prepend-icon=search')
    top = MessageList(settings, 'messages', search)
    # one read for the whole screen, with the session check (portal_page's prefetch), as the actor who opened it
    screen: messages.MainScreen = page.data if page.data is not None else \
        await access.call(messages.main_screen, actor=actor, messages=top.request())
    replies = MessageList(settings, 'replies', search) if screen.replies is not None else None
    _bottom_buttons(settings)
    lists = [top] + ([replies] if replies else [])
    top.show(screen.messages, 1)
    if replies is not None:
        replies.show(screen.replies, 1)

    async def on_search() -> None:
        """A search shows the first page of each list, in one read."""
        found = await actions.read(messages.main_screen, search=search.value or '', messages=top.request(),
                                   replies=replies.request() if replies else messages.PageRequest())
        if found is not None:
            top.show(found.messages, 1)
            if replies is not None and found.replies is not None:
                replies.show(found.replies, 1)

    def phone_layout() -> None:
        for table in lists:
            table.use_phone_cards()

    search.on_value_change(on_search)
    ui.on(PHONE_LAYOUT_EVENT, phone_layout)
    if screen.messages.total == 0 and replies is None:
        _empty_state(settings).move(target_index=search.parent_slot.children.index(search) + 1)


class MessageList:
    """One server-paged, sortable list (top list or Replies) filtered by the shared search box.

    Next and previous pages are found by key (the first and last row of the page shown), the last page from the
    end: the cost of a page does not grow with the number of messages.
    """

    def __init__(self, settings: PortalSettings, which: str, search: ui.input) -> None:
        self.settings, self.which, self.search = settings, which, search
        self.total = 0
        self.page = 1
        self.first: messages.Cursor | None = None
        self.last: messages.Cursor | None = None
        self.phone_cards = False
        # the Replies list is a section with its own heading; the top list sits right under the page's h1
        # (no wrapping element: each one is work on every open of the main screen)
        with ui.column().classes('w-full gap-1').mark('replies-section') if which == 'replies' else nullcontext():
            if which == 'replies':
                heading('Replies', 2).classes('text-xl font-bold mt-4').mark('replies-title')
            self.table = ui.table(
                columns=REPLY_COLUMNS if which == 'replies' else COLUMNS, rows=[], row_key='id',
                pagination={'rowsPerPage': PAGE_SIZE, 'page': 1, 'rowsNumber': 0, 'sortBy': None,
                            'descending': True},
            ).classes('w-full').props(TABLE_PROPS).mark(which)
            self.table.add_slot('body-cell-message', MESSAGE_CELL)
            self.table.add_slot('body-cell-documentation', DOCUMENTATION_CELL)
            self.table.on('request', self.on_request)

    def use_phone_cards(self) -> None:
        """Add the phone-card template once the browser shows the phone layout."""
        if not self.phone_cards:
            self.phone_cards = True
            self.table.add_slot('item', ITEM_CARD)
            self.table.update()

    def request(self) -> messages.PageRequest:
        pagination = self.table.pagination
        return messages.PageRequest(limit=int(pagination.get('rowsPerPage') or PAGE_SIZE),
                                    sort=pagination.get('sortBy'), descending=pagination.get('descending', True))

    async def on_request(self, event) -> None:
        pagination = event.args['pagination']
        old = self.table.pagination
        self.table.pagination = {**old, 'sortBy': pagination.get('sortBy'),
                                 'descending': bool(pagination.get('descending')),
                                 'rowsPerPage': pagination.get('rowsPerPage') or PAGE_SIZE}
        same_order = all(self.table.pagination.get(k) == old.get(k) for k in ('sortBy', 'descending', 'rowsPerPage'))
        await self.load(int(pagination.get('page') or 1), keyed=same_order)

    async def load(self, page: int, *, keyed: bool = True) -> None:
        """Fetch one page from the server (the session is checked again: websocket events skip middleware)."""
        request = self.request()
        pages = max(1, -(-self.total // request.limit))
        where: dict[str, Any] = {'offset': (page - 1) * request.limit}
        if keyed and page == self.page + 1 and self.last is not None:
            where = {'after': self.last}
        elif keyed and page == self.page - 1 and page > 1 and self.first is not None:
            where = {'before': self.first}
        elif page == pages and page > 1:
            where = {'last': True}
        result = await actions.read(messages.list_messages, which=self.which, limit=request.limit,
                                    sort=request.sort, descending=request.descending,
                                    search=self.search.value or '', **where)
        if result is not None:
            self.show(result, page)

    def show(self, result: messages.MessagePage, page: int) -> None:
        """Show one page of rows."""
        self.total, self.page, self.first, self.last = result.total, page, result.first, result.last
        self.table.rows = shown_rows(_row(r, self.settings) for r in result.rows)
        self.table.pagination = {**self.table.pagination, 'page': page, 'rowsNumber': result.total}


def _row(row: messages.MessageRow, settings: PortalSettings) -> dict[str, Any]:
    return {'id': row.share_id, 'message': row.title, 'serv_date': row.service_date.isoformat(),
            'regarding': row.regarding, 'by': row.by_name, 'type': row.doc_type, 'documentation': '',
            'unread': row.unread, 'action_needed': row.action_needed, 'can_reply': row.can_reply, 'replies': row.reply_count,
            'last_reply': local_time(row.last_reply_at, settings) if row.last_reply_at else ''}


def local_time(value: datetime, settings: PortalSettings) -> str:
    """A timestamp in the portal's time zone, minutes precision."""
    try:
        zone = ZoneInfo(settings.time_zone)
    except Exception:
        zone = ZoneInfo('UTC')
    return value.astimezone(zone).strftime('%Y-%m-%d %H:%M')


def _empty_state(settings: PortalSettings) -> ui.card:
    with ui.card().classes('w-full items-center text-center p-6 gap-2').mark('empty-state') as card:
        ui.icon('mark_email_unread', size='xl', color='primary')
        heading('No messages yet', 2).classes('text-lg font-bold')
        ui.label(f'{settings.portal_name} is where the clinic sends you documents securely, such as work status '
                 'reports and notes about the people you work with. When a new document is shared with you, '
                 'you get an email and it appears here.').classes('text-grey-8 max-w-xl')
    return card


def _bottom_buttons(settings: PortalSettings) -> None:
    """NEW REGISTRATION in the lower left (when enabled), LOGOUT at the bottom of the lists."""
    # NEW REGISTRATION left, LOGOUT right; LOGOUT alone stays right (justify-end: no filler element)
    with ui.row().classes('w-full items-center mt-4 gap-2') \
            .classes('justify-between' if settings.registration_enabled else 'justify-end'):
        if settings.registration_enabled:
            with ui.dialog() as dialog, ui.card().classes('max-w-md').mark('registration-dialog'):
                heading('New registration', 2).classes('text-lg font-bold')
                ui.label('You will be signed out to register a new person. Continue?')
                with ui.row().classes('w-full justify-end'):
                    ui.button('Cancel', on_click=dialog.close).props('flat').mark('registration-cancel')
                    actions.button('Sign out and register', start_registration).mark('registration-confirm')
            ui.button('NEW REGISTRATION', icon='person_add', on_click=dialog.open).props('outline') \
                .mark('new-registration')
        ui.button('LOGOUT', icon='logout', on_click=access.sign_out).mark('logout')
