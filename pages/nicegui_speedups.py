"""Two of NiceGUI's per-element costs, made cheap without changing what they return (issue 15: CPU per page open).

Every element NiceGUI creates builds three observable collections (classes, style, props), and each asks
`helpers.expects_arguments(on_change)`, which runs `inspect.signature` on a bound method; every `.props('...')`
string is parsed again with `ast.literal_eval` for each quoted value. On the main screen the two were about 15% of
the server's CPU per open (py-spy, `--gil`). Here:
- `expects_arguments` reads a plain function's or bound method's code object directly (the same answer as
  `inspect.signature`); anything else (partials, callables, wrapped or re-signed functions) still goes through
  NiceGUI's own function;
- `Props.parse` remembers the parsed form of each props string (the strings are literals in the pages' code, a
  bounded set); each caller gets its own copy, so a caller that changes the result changes nothing shared.
`install()` runs once, when `pages.portal` is imported; tests/test_nicegui_speedups.py compares both with
NiceGUI's originals.
"""
from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable
from typing import Any

from nicegui import helpers
from nicegui.props import Props

_original_expects_arguments = helpers.expects_arguments
_original_props_parse = Props.parse


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


def install() -> None:
    """Put the two in NiceGUI's place (idempotent)."""
    helpers.expects_arguments = expects_arguments  # NiceGUI calls it as helpers.expects_arguments(...)
    Props.parse = staticmethod(props_parse)  # type: ignore[method-assign, assignment]
