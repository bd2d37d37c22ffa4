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
