"""The one server-paged table of the clinic and admin pages, and the column helper every table uses.

A `PagedTable` is built only once its first page was read: the browser's first picture already holds the rows
and the row count, so the pager never says "1-0 of 0" under visible rows and "No data available" never flashes
before the rows arrive. (Quasar echoes the pagination it was mounted with as `update:pagination`; a table whose
count arrived later could have it wiped by that echo. The table also restores the count the server knows if any
such echo disagrees.)
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from models.shapes import Actor

from . import actions

PAGE_SIZE = 25
Fetch = Callable[[Actor, int, int], Awaitable[tuple[list[dict], int]]]


PHONE_HIDDEN = 'portal-phone-hidden'  # assets/portal.css: not shown below 600 px (the phone layout)


def col(name: str, label: str, *, number: bool = False, key: bool = False, **extra: Any) -> dict:
    """A table column whose field is its name: text left-aligned, a `number` right-aligned (Quasar's default).

    Every table marks its `key` columns (what names the row, its status, its link or action): on a phone (below
    600 px) only those show, so the table fits a 320 px screen without scrolling sideways; the others are hidden
    there by assets/portal.css (wider screens show them all).
    """
    column = {'name': name, 'label': label, 'field': name, **({} if number else {'align': 'left'}), **extra}
    if not key:
        column['classes'] = f'{column.get("classes", "")} {PHONE_HIDDEN}'.strip()
        column['headerClasses'] = f'{column.get("headerClasses", "")} {PHONE_HIDDEN}'.strip()
    return column


def shown_rows(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Rows for `table.rows` that the page only ever replaces, never edits in place: as a tuple of plain dicts,
    NiceGUI keeps them as they are instead of copying each row into an observed dict (a page of 25 rows was
    hundreds of Python objects per open, and as many for the garbage collector to scan while the page is open)."""
    return tuple(rows)


def key_columns(columns: list[dict]) -> list[str]:
    """The names of the columns a phone shows."""
    return [c['name'] for c in columns if PHONE_HIDDEN not in c.get('classes', '').split()]


class PagedTable:
    """A ui.table paged on the server: `fetch(actor, offset, limit)` returns one page of rows and the total.

    Build it with `await PagedTable.create(...)`: the first page is read (as `actor`, the page's signed-in
    account) before the table exists. Every later load (paging, `load(1)` after a search) reads the session
    again and hands the account signed in now to `fetch`, so fetch functions need no check of their own; an
    answer that a newer load overtook is dropped.
    """

    def __init__(self, columns: list[dict], fetch: Fetch, first: tuple[list[dict], int], *, mark: str,
                 row_key: str = 'id', page_size: int = PAGE_SIZE, selection: str | None = None,
                 on_click: Callable[[dict], Any] | None = None, link: tuple[str, str] | None = None,
                 empty: str | None = None, flat: bool = True) -> None:
        if not key_columns(columns):
            raise ValueError('mark the key columns of the table (col(..., key=True)): a phone shows only those')
        self.fetch, self.page_size = fetch, page_size
        rows, self.total = first
        self.shown_page = 1
        self.latest = 0
        self.table = ui.table(columns=columns, rows=rows, row_key=row_key, selection=selection,
                              pagination={'rowsPerPage': page_size, 'page': 1, 'rowsNumber': self.total}) \
            .classes('w-full').props('wrap-cells').mark(mark)
        if flat:
            self.table.props('flat bordered')
        self.table.props['rows-per-page-options'] = [page_size]
        if empty:
            self.table.props['no-data-label'] = empty
        self.table.on('request', lambda e: self.load(int(e.args['pagination'].get('page') or 1)))
        self.table.on_pagination_change(self._keep_count)
        if on_click is not None:
            self.table.on('row-click', lambda e: on_click(e.args[1]))
            self.table.classes('cursor-pointer')
        if link is not None:  # column name, row field holding a same-site path: a real link for keyboards
            name, field = link
            self.table.add_slot(f'body-cell-{name}', f'<q-td :props="props"><a :href="props.row.{field}" '
                                'class="text-primary" @click.stop>{{ props.value }}</a></q-td>')

    @classmethod
    async def create(cls, columns: list[dict], fetch: Fetch, *, actor: Actor, mark: str,
                     page_size: int = PAGE_SIZE, **options: Any) -> PagedTable:
        """Read the first page as `actor`, then build the table with it (where the call stands in the page)."""
        first = await fetch(actor, 0, page_size)
        return cls(columns, fetch, first, mark=mark, page_size=page_size, **options)

    @property
    def rows(self) -> list[dict]:
        """The rows shown now."""
        return self.table.rows

    @property
    def page(self) -> int:
        """The page shown now."""
        return self.shown_page

    async def load(self, page: int = 1) -> None:
        """Show one page, read as the staff member signed in now (the newest request wins)."""
        self.latest += 1
        mine = self.latest
        actor = await actions.reader()
        if actor is None:
            return
        rows, total = await self.fetch(actor, (page - 1) * self.page_size, self.page_size)
        if mine != self.latest:
            return  # a newer search or page was asked for meanwhile: its answer wins
        last = max(1, -(-total // self.page_size))
        if page > last and total:  # the rows shrank under the page shown (a rescind, a filter): show the last
            await self.load(last)
            return
        self.total, self.shown_page = total, page
        self.table.rows = shown_rows(rows)
        self.table.pagination = {**self.table.pagination, 'page': page, 'rowsNumber': total,
                                 'rowsPerPage': self.page_size}

    async def reload(self) -> None:
        """Read the page shown now again (after a change to its rows)."""
        await self.load(self.shown_page)

    def _keep_count(self, event: ValueChangeEventArguments) -> None:
        value = event.value or {}
        if value.get('rowsNumber') != self.total or value.get('page') != self.shown_page:
            self.table.pagination = {**value, 'page': self.shown_page, 'rowsNumber': self.total,
                                     'rowsPerPage': self.page_size}
