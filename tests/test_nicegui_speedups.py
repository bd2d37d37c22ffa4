"""The NiceGUI speed-ups (pages/nicegui_speedups.py) answer exactly as NiceGUI's own functions."""
from __future__ import annotations

import functools

from nicegui import helpers
from nicegui.props import Props

import pages.portal  # noqa: F401  (installs the speed-ups)
from pages import nicegui_speedups as speedups


class Handler:
    def plain(self) -> None: ...
    def one(self, event) -> None: ...
    def optional(self, event=None) -> None: ...
    def star(*args) -> None: ...
    def keyword(self, *, name) -> None: ...
    def keyword_default(self, *, name=1) -> None: ...
    def __call__(self, event) -> None: ...


def _wrapped(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args, **kwargs)
    return inner


def test_expects_arguments_matches_nicegui() -> None:
    handler = Handler()
    cases = [lambda: None, lambda e: None, lambda e=1: None, lambda *a, **k: None, lambda t=3: t,
             lambda a, b=2: None, lambda *, k: None, lambda *, k=1: None, lambda a, /, b=1: None,
             handler.plain, handler.one, handler.optional, handler.star, handler.keyword, handler.keyword_default,
             handler, functools.partial(lambda a, b: None, 1), _wrapped(lambda: None), _wrapped(lambda e: None),
             print, Handler.one]
    for case in cases:
        assert speedups.expects_arguments(case) == speedups._original_expects_arguments(case), case
    assert helpers.expects_arguments is speedups.expects_arguments  # installed by pages.portal


def test_props_parse_matches_nicegui_and_copies() -> None:
    texts = ['flat dense', 'outlined dense clearable debounce=400', 'aria-label="Settings" color=grey-9',
             ':rows-per-page-options="[10,25,50,100]" no-data-label="No messages here."', "label='a b'",
             'x={"a": [1, 2]}', '', None]
    for text in texts:
        assert Props.parse(text) == speedups._original_props_parse(text)
    first = Props.parse('x={"a": [1, 2]}')
    first['x']['a'].append(3)
    assert Props.parse('x={"a": [1, 2]}') == {'x': {'a': [1, 2]}}


def test_the_page_escape_matches_nicegui_translate() -> None:
    import nicegui.client
    from nicegui import json as nicegui_json
    table = nicegui.client.HTML_ESCAPE_TABLE
    hostile = {'title': '</script><script>alert(1)</script>', 'tick': '`${document.cookie}`', 'amp': '&amp;&lt;',
               'quote': '"\'\\', 'unicode': 'Zoë ✓ \u2028', 'nested': [{'x': '<&>$`'}], 'n': 3}
    ours = nicegui.client.json.dumps(hostile).translate(table)  # as build_response calls it
    assert ours == nicegui_json.dumps(hostile).translate(table)
    assert '<' not in ours and '`' not in ours and '$' not in ours and '&amp;amp;' in ours
    assert speedups.escape_for_page('a&b<c>d`e$f') == 'a&b<c>d`e$f'.translate(table)
    assert nicegui.client.json.dumps({'a': 1}).translate({ord('a'): 'b'}) == '{"b":1}'  # other tables: translate
    assert nicegui.client.json.loads('{"a": 1}') == {'a': 1}


def test_a_table_that_replacements_cannot_replay_keeps_translate() -> None:
    assert speedups._escape_steps({ord('<'): '&lt;', ord('&'): '&amp;'}) == (('&', '&amp;'), ('<', '&lt;'))
    assert speedups._escape_steps({ord('<'): '>', ord('>'): '&gt;'}) is None


def test_a_deleted_page_is_freed_without_waiting_for_a_full_collection() -> None:
    import gc

    from nicegui import Client, ui
    from nicegui.page import page

    def closed_page_garbage(remove_elements) -> int:
        original = Client.remove_elements
        Client.remove_elements = remove_elements
        try:
            client = Client(page('/'), request=None)
            with client:
                with ui.header():
                    ui.link('Skip to main content', '#main').classes('skip-link')
                    ui.button('Sign out', on_click=lambda: None).props('flat color=primary').mark('sign-out')
                with ui.column():
                    ui.input('Search messages').props('outlined dense clearable')
                    table = ui.table(columns=[{'name': 'a', 'label': 'A', 'field': 'a'}], rows=[{'a': 1}], row_key='a')
                    table.on('request', lambda event: None)
            client.delete()
            del client, table
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                gc.collect()
                return sum(1 for o in gc.garbage if type(o).__name__ in {'Props', 'Classes', 'Style'})
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
                gc.collect()  # (the saved garbage, now really freed)
        finally:
            Client.remove_elements = original

    gc.collect()
    assert closed_page_garbage(speedups._original_remove_elements) > 0  # NiceGUI's own leaves the cycles
    assert closed_page_garbage(speedups.remove_elements) == 0
    assert Client.remove_elements is speedups.remove_elements  # installed by pages.portal


def test_the_outbox_loop_waits_for_a_socket_only_until_one_connects() -> None:
    """NiceGUI's outbox loop polls every 0.1 s for a just-served page's socket; here the wait ends when a socket
    connects (app.on_connect), and lasts its full delay otherwise. Everything else is asyncio's own."""
    import asyncio
    import time

    import nicegui.outbox
    assert isinstance(nicegui.outbox.asyncio, speedups._OutboxAsyncio)
    assert nicegui.outbox.asyncio.Event is asyncio.Event and nicegui.outbox.asyncio.wait_for is asyncio.wait_for

    async def both() -> tuple[float, float]:
        started = time.perf_counter()
        assert await nicegui.outbox.asyncio.sleep(0.05, 'done') == 'done'  # nobody connected: the whole delay
        unwoken = time.perf_counter() - started
        waiting = asyncio.ensure_future(nicegui.outbox.asyncio.sleep(30))
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        speedups.wake_outboxes()  # a socket connected
        await asyncio.wait_for(waiting, 5)
        return unwoken, time.perf_counter() - started

    unwoken, woken = asyncio.run(both())
    assert unwoken >= 0.05 and woken < 1
