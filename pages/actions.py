"""One way to handle a click: every state-changing event runs through an `Action`.

An action re-checks the session and role (a session that ended meanwhile is refused), disables its triggers and
shows progress while it runs, never runs twice at once, gives each submit an idempotency key so the service makes
a change once even when the same submit arrives twice, shows a `PortalError` as the message next to the control
(an aria-live region), and logs anything else under an error id the person sees.

    save = actions.button('Save chart', save_chart)      # inside a @portal_page builder

    async def save_chart(act: actions.Act) -> None:
        chart_id = await act.call(charts.save_chart, first_name=first.value, last_name=last.value)
        act.done('Chart saved.', navigate=f'/staff/chart/{chart_id}')
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nicegui import app, context, run, ui

from models.shapes import Actor
from services import db, idempotency, passwords
from services.errors import PortalError
from services.settings import PortalSettings

from . import access

T = TypeVar('T')
log = logging.getLogger('smp.actions')
FLASH_KEY = 'flash'
SETTLE_SECONDS = 0.6  # after a success, clicks that were already on their way are ignored this long
_ROLES_ATTR = 'portal_roles'
_LEAVING_ATTR = 'portal_leaving'  # this page is already on its way to sign-in


class Message(ui.label):
    """The message next to a control: announced by screen readers, red for errors, green for success."""

    def __init__(self, mark: str = 'action-message', *, failed: str = '') -> None:
        """`failed` starts every error (e.g. 'Not saved.'), saying what did not happen before the reason."""
        super().__init__()
        self.failed = failed
        self.fields: list[ui.element] = []
        self.props['id'] = f'message-{self.id}'
        self.props['aria-live'] = 'polite'
        self.props['role'] = 'status'
        self.classes('text-sm').mark(mark)
        self.set_visibility(False)

    def describe(self, *fields: ui.element) -> Message:
        """The fields this message is about: they point to it (aria-describedby) and are marked invalid on errors."""
        self.fields.extend(fields)
        for field_ in fields:
            field_.props['aria-describedby'] = self.props['id']
        return self

    def error(self, text: str) -> None:
        self._show(f'{self.failed} {text}' if self.failed else text, 'text-negative', 'alert')
        self._mark(True)

    def success(self, text: str) -> None:
        self._show(text, 'text-positive', 'status')
        self._mark(False)

    @property
    def is_error(self) -> bool:
        """An error is shown (errors are announced as alerts; a success or a cleared message is not one)."""
        return self.visible and self.props.get('role') == 'alert'

    def clear(self) -> None:
        self.text = ''
        self.set_visibility(False)
        self._mark(False)

    def _mark(self, invalid: bool) -> None:
        for field_ in self.fields:
            if field_.is_deleted:
                continue
            if invalid:
                field_.props['aria-invalid'] = 'true'
            else:
                field_.props.pop('aria-invalid', None)
            field_.update()

    def _show(self, text: str, colour: str, role: str) -> None:
        self.classes(remove='text-negative text-positive').classes(colour)
        self.props['role'] = role
        self.text = text
        self.set_visibility(True)
        self.update()


async def _off_loop(service: Callable[..., Any], target: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`target(*args, **kwargs)` off the event loop: a service marked `passwords.hashing` (argon2) runs in the
    password pool, so it never holds one of NiceGUI's shared threads that page opens wait for."""
    if passwords.is_hashing(service):
        return await passwords.offload(functools.partial(target, *args), **kwargs)
    return await run.io_bound(target, *args, **kwargs)


class Stop(Exception):
    """Ends an action quietly (the same submit was already made; or the handler already said why)."""


@dataclass
class Act:
    """One run of an action: who runs it, its idempotency key, and the message next to the control."""

    actor: Actor | None
    settings: PortalSettings
    key: str
    message: Message
    event: Any = None
    committed: bool = False  # a change was made under this submit's key: the next submit needs a new one
    _calls: int = field(default=0)

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Make a change off the loop, once per submit: `fn` gets the actor and, in one transaction, the session.

        A service that keeps its own transactions takes `idempotency_key` instead and claims it itself.
        A submit that arrives again with the same key changes nothing and ends the action quietly.
        """
        parameters = inspect.signature(fn).parameters
        if 'actor' in parameters:
            kwargs.setdefault('actor', self.actor)
        self._calls += 1
        key = f'{self.key}.{self._calls}'
        if 'session' in parameters:
            result = await _off_loop(fn, db.run, idempotency.run_once, idempotency_key=key, service=fn, **kwargs)
        elif 'idempotency_key' in parameters:
            result = await _off_loop(fn, fn, idempotency_key=key, **kwargs)
        else:
            raise TypeError(f'{fn.__qualname__} makes changes without an idempotency key: use act.run for it')
        if result is idempotency.REPLAYED:
            raise Stop()
        self.committed = True
        return result

    async def read(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Read something for the action: `fn(session, **kwargs)` off the loop."""
        if 'actor' in inspect.signature(fn).parameters:
            kwargs.setdefault('actor', self.actor)
        return await access.call(fn, **kwargs)

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """A service with its own transactions whose repeat is harmless (sign-in, a code check) off the loop."""
        if 'actor' in inspect.signature(fn).parameters:
            kwargs.setdefault('actor', self.actor)
        return await _off_loop(fn, fn, **kwargs)

    def fail(self, text: str) -> None:
        """Show `text` next to the control and end the action (nothing was changed)."""
        self.message.error(text)
        raise Stop()

    def done(self, notice: str | None = None, *, navigate: str | None = None) -> None:
        """Finish: show `notice` next to the control, or on the next page when navigating."""
        if navigate is not None:
            if notice:
                flash(notice)
            ui.navigate.to(navigate)
        elif notice:
            self.message.success(notice)
        else:
            self.message.clear()


Handler = Callable[[Act], Awaitable[Any]]


class Action:
    """A state-changing event handler; pass it as `on_click`, `on_upload`, `on_change` or to `.on(...)`."""

    def __init__(self, handler: Handler, *, triggers: Iterable[ui.element] = (), message: Message | None = None,
                 roles: frozenset[str] | None = None, queue: bool = False) -> None:
        self.handler, self.queue = handler, queue
        self.triggers = list(triggers)
        self.roles = roles if roles is not None else getattr(context.client, _ROLES_ATTR, None)
        if self.roles is None:
            raise TypeError('an action outside a portal page must declare its roles')
        self.message = message if message is not None else self._message_after(self.triggers)
        self.key = _new_key()
        self.running = False
        self._lock = asyncio.Lock()

    async def __call__(self, event: Any) -> None:
        if self.running and not self.queue:
            return  # a second click while the first runs
        async with self._lock:
            self.running = True
            self._busy(True)
            succeeded = committed = False
            try:
                succeeded, committed = await self._run(event)
            finally:
                if committed:
                    self.key = _new_key()
                if succeeded:
                    await asyncio.sleep(SETTLE_SECONDS)
                self._busy(False)
                self.running = False

    async def _run(self, event: Any) -> tuple[bool, bool]:
        """Run the handler once; (it succeeded, it committed a change under the current key)."""
        visit = await access.visit()
        if not access.allows(self.roles, visit.actor):
            self._refused(visit.actor)
            return False, False
        act = Act(visit.actor, visit.settings, self.key, self.message, event)
        try:
            self.message.clear()
            await self.handler(act)
            return True, True
        except Stop:
            return False, act.committed
        except PortalError as error:
            self.message.error(str(error))
            return False, act.committed
        except Exception:
            error_id = secrets.token_hex(3).upper()
            log.exception('action %s failed, error id %s', getattr(self.handler, '__qualname__', '?'), error_id)
            self.message.error(f'Something went wrong (error {error_id}). Please try again; if it keeps '
                               'happening, tell the clinic this error code.')
            return False, act.committed

    def _refused(self, actor: Actor | None) -> None:
        if actor is None:
            _session_ended()
        else:
            self.message.error('You are not allowed to do this.')

    def _busy(self, busy: bool) -> None:
        for trigger in self.triggers:
            if trigger.is_deleted:  # the handler rebuilt the part of the page it sat in
                continue
            if isinstance(trigger, ui.button):
                trigger.props['loading'] = busy
            trigger.set_enabled(not busy)
            trigger.update()

    @staticmethod
    def _message_after(triggers: list[ui.element]) -> Message:
        message = Message()
        if triggers and triggers[0].parent_slot is not None:
            slot = triggers[0].parent_slot
            index = slot.children.index(triggers[0]) if triggers[0] in slot.children else -1
            message.move(target_container=slot.parent, target_index=index + 1 if index >= 0 else -1,
                         target_slot=slot.name)
        return message


def button(text: str, handler: Handler, *, icon: str | None = None, message: Message | None = None,
           roles: frozenset[str] | None = None, enter: Iterable[ui.element] = ()) -> ui.button:
    """A button whose click runs `handler` as an Action; Enter in any of `enter` submits it too."""
    trigger = ui.button(text, icon=icon)
    action = Action(handler, triggers=[trigger], message=message, roles=roles)
    trigger.on_click(action)
    enter = list(enter)
    action.message.describe(*enter)  # the fields the message is about
    for field_ in enter:
        field_.on('keydown.enter', action)
    return trigger


async def reader() -> Actor | None:
    """The account behind a read the browser asked for over the websocket (paging, a search box), or None.

    Such events skip the page's own check, so the session is read again, against the page's roles; a session
    that ended meanwhile goes to sign-in, as a click on an action does.
    """
    actor = (await access.visit()).actor
    if access.allows(getattr(context.client, _ROLES_ATTR, frozenset()), actor):
        return actor
    if actor is None:
        _session_ended()
    return None


async def read(fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """`fn(session, [actor,] **kwargs)` off the loop for a read the browser asked for; None once refused."""
    actor = await reader()
    if actor is None:
        return None
    if 'actor' in inspect.signature(fn).parameters:
        kwargs.setdefault('actor', actor)
    return await access.call(fn, **kwargs)


def bind_page(roles: frozenset[str]) -> None:
    """Remember the roles of the page being built: its actions require them too."""
    setattr(context.client, _ROLES_ATTR, roles)


def flash(text: str, kind: str = 'positive') -> None:
    """Queue a notice for the next page this browser opens (never PHI: it is stored in the browser's storage)."""
    queued = list(app.storage.user.get(FLASH_KEY, []))[-4:]
    app.storage.user[FLASH_KEY] = queued + [{'text': text, 'kind': kind}]


def show_flash() -> None:
    """Show the notices queued before the navigation that opened this page."""
    queued = app.storage.user.pop(FLASH_KEY, None) or []
    for notice in queued:
        kind = notice.get('kind', 'positive')
        with ui.row().classes('w-full items-center gap-2 rounded p-3 ' +
                              ('bg-green-1 text-green-10' if kind == 'positive' else 'bg-orange-1 text-orange-10')) \
                .mark('flash') as banner:
            banner.props['role'] = 'status'
            ui.icon('check_circle' if kind == 'positive' else 'info')
            ui.label(str(notice.get('text', ''))).classes('grow')
            close = ui.button(icon='close', on_click=banner.delete).props('flat round dense')
            close.props['aria-label'] = 'Dismiss'


def _session_ended() -> None:
    """Send this page to sign-in, once: a table read and a click that both find the session ended make one
    navigation and one notice."""
    client = context.client
    if getattr(client, _LEAVING_ATTR, False):
        return
    setattr(client, _LEAVING_ATTR, True)
    flash('Your session has ended. Sign in again to continue.', 'warning')
    ui.navigate.to(access.login_path(_current_path()))


def _new_key() -> str:
    return secrets.token_urlsafe(24)


def _current_path() -> str | None:
    try:
        request = context.client.request
        return request.url.path if request is not None else None
    except Exception:
        return None
