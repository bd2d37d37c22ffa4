"""Five of NiceGUI's costs per element and per page, made cheap without changing what a page shows (issue 15: CPU
per page open, pauses and memory under load).

Every element NiceGUI creates builds three observable collections (classes, style, props), and each asks
`helpers.expects_arguments(on_change)`, which runs `inspect.signature` on a bound method; every `.props('...')`
string is parsed again with `ast.literal_eval` for each quoted value. On the main screen the two were about 15% of
the server's CPU per open (py-spy, `--gil`). Here:
- `expects_arguments` reads a plain function's or bound method's code object directly (the same answer as
  `inspect.signature`); anything else (partials, callables, wrapped or re-signed functions) still goes through
  NiceGUI's own function;
- `Props.parse` remembers the parsed form of each props string (the strings are literals in the pages' code, a
  bounded set); each caller gets its own copy, so a caller that changes the result changes nothing shared;
- the page's elements (JSON in the HTML answer) are escaped with one `str.replace` per character of NiceGUI's
  `HTML_ESCAPE_TABLE` instead of `str.translate` with it, which looks every character up in a dict: the same text,
  about 1 ms less per main-screen open (a 13 KB string; 5% of its CPU, measured A/B);
- a removed element's props, classes and style drop their change handlers, which are bound methods of those same
  collections: reference cycles that kept every closed page in memory (about 1,200 objects each) until a full
  garbage collection. Without them a closed page is freed by reference counting when NiceGUI deletes it: after
  100 sign-ins the server held 51,000 objects instead of 206,000, and full collections, which stop every page on
  the server while they scan, have far less to scan. (Changing a removed element no longer reaches NiceGUI's
  "element deleted but still being used" warning: the change goes nowhere either way.)
- a page's first changes after its socket connects go out at once: NiceGUI's outbox loop checks for the socket of a
  page it has just served every 0.1 s (`asyncio.sleep(0.1)`), so whatever a page builds once the browser has
  connected (the document viewer's content: `Page.show_when_seen`) waited for that tick, about 100 ms of each
  viewer open. The outbox module's `asyncio.sleep` here ends early when any page's socket connects.
`install()` runs once, when `pages.portal` is imported; tests/test_nicegui_speedups.py compares each with
NiceGUI's original.
"""
from __future__ import annotations

import asyncio
import copy
import functools
import types
from collections.abc import Callable
from typing import Any

import nicegui.client
import nicegui.outbox
from nicegui import app
from nicegui import helpers
from nicegui import json as nicegui_json
from nicegui.client import Client
from nicegui.props import Props

_original_expects_arguments = helpers.expects_arguments
_original_props_parse = Props.parse
_original_remove_elements = Client.remove_elements


def expects_arguments(func: Callable[..., Any]) -> bool:
    """True when `func` has a parameter without a default that is not *args/**kwargs (as NiceGUI's own)."""
    skip = 0
    target: Any = func
    if isinstance(func, types.MethodType):
        target, skip = func.__func__, 1
    if type(target) is not types.FunctionType or '__wrapped__' in target.__dict__ \
            or '__signature__' in target.__dict__:
        return _original_expects_arguments(func)
    code = target.__code__
    positional = code.co_argcount
    if skip and positional == 0:  # a bound method taking only *args: inspect keeps *args
        return _original_expects_arguments(func)
    if positional - len(target.__defaults__ or ()) - skip > 0:
        return True
    keyword_only = code.co_varnames[positional:positional + code.co_kwonlyargcount]
    defaults = target.__kwdefaults__ or {}
    return any(name not in defaults for name in keyword_only)


@functools.lru_cache(maxsize=2048)
def _parsed(text: str) -> tuple[tuple[str, Any], ...]:
    return tuple(_original_props_parse(text).items())


def props_parse(text: str | None) -> dict[str, Any]:
    """`Props.parse`, remembered per string; mutable values (lists, dicts) are copied for each caller."""
    if not text:
        return {}
    return {key: copy.deepcopy(value) if isinstance(value, (list, dict, set)) else value
            for key, value in _parsed(text)}


def _escape_steps(table: dict[int, str]) -> tuple[tuple[str, str], ...] | None:
    """The table as replacements in an order that gives `str.translate`'s result, or None if there is none:
    `&` first, and no replacement may bring in another character the table replaces."""
    steps = sorted(((chr(code), text) for code, text in table.items()), key=lambda step: step[0] != '&')
    if any(set(text) & {char for char, _ in steps[i + 1:]} for i, (_, text) in enumerate(steps)):
        return None
    return tuple(steps)


_PAGE_ESCAPES = _escape_steps(nicegui.client.HTML_ESCAPE_TABLE)


def escape_for_page(text: str) -> str:
    """`text.translate(HTML_ESCAPE_TABLE)`, one `str.replace` per character."""
    for char, replacement in _PAGE_ESCAPES or ():
        text = text.replace(char, replacement)
    return text


class _PageJson(str):
    """JSON text from `nicegui.client`'s `json.dumps`; translating it with the page escape table is `escape_for_page`."""

    def translate(self, table: Any) -> str:
        if table is nicegui.client.HTML_ESCAPE_TABLE:
            return escape_for_page(str(self))
        return str.translate(self, table)


class _ClientJson:
    """What `nicegui.client` calls `json`: NiceGUI's own, with `dumps` answering `_PageJson`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(nicegui_json, name)

    @staticmethod
    def dumps(*args: Any, **kwargs: Any) -> str:
        return _PageJson(nicegui_json.dumps(*args, **kwargs))


def remove_elements(client: Client, elements: Any) -> None:
    """NiceGUI's `Client.remove_elements`, then the removed elements' observable collections let go of their
    handlers (the reference cycles), so each element is freed as soon as nothing else holds it."""
    removed = list(elements)
    _original_remove_elements(client, removed)
    for element in removed:
        for collection in (element._props, element._classes, element._style):  # pylint: disable=protected-access
            collection._change_handlers.clear()  # pylint: disable=protected-access


class _OutboxAsyncio:
    """`asyncio` as nicegui.outbox sees it: the same, except that its sleeps (0.1 s while a page's socket has not
    connected yet, or after an error) end as soon as any page's socket connects. The loop then checks its own
    client again and goes back to sleep if that one is still not connected."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        try:
            await asyncio.wait_for(_socket_connected().wait(), delay)
        except asyncio.TimeoutError:
            pass
        return result


_connected_now: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}  # one event per loop and wake-up


def _socket_connected() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    if loop not in _connected_now:
        _connected_now.clear()  # (an event of an earlier loop, as in tests, would refuse to be waited for here)
        _connected_now[loop] = asyncio.Event()
    return _connected_now[loop]


def wake_outboxes() -> None:
    """A page's socket connected (app.on_connect): wake the outbox loops waiting for theirs."""
    for event in _connected_now.values():
        event.set()
    _connected_now.clear()


def install() -> None:
    """Put the five in NiceGUI's place (idempotent)."""
    if not isinstance(nicegui.outbox.asyncio, _OutboxAsyncio):
        nicegui.outbox.asyncio = _OutboxAsyncio()
        app.on_connect(wake_outboxes)
    Client.remove_elements = remove_elements  # type: ignore[method-assign]
    if _PAGE_ESCAPES is not None:  # (a NiceGUI whose table cannot be replayed as replacements keeps its translate)
        nicegui.client.json = _ClientJson()  # type: ignore[assignment]
    helpers.expects_arguments = expects_arguments  # NiceGUI calls it as helpers.expects_arguments(...)
    Props.parse = staticmethod(props_parse)  # type: ignore[method-assign, assignment]
