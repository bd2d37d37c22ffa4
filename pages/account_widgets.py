"""Pieces the account pages share (sign-in, activation, forgot password, settings): the username and password
fields, new-password fields with a strength meter, the password-changed notice, the help-desk line."""
from __future__ import annotations

from collections.abc import Callable

from nicegui import run, ui

from services import passwords
from services.settings import PortalSettings

from . import actions

PASSWORD_CHANGED = 'Your password was changed. Sign in with the new password.'  # every session ended with it


class Credentials:
    """Username and password fields for signing in; `check(act)` refuses empty ones before any hashing."""

    def __init__(self, *, marks: tuple[str, str] = ('username', 'password'), username: str = '',
                 autofocus: bool = False) -> None:
        self.username = ui.input('Username (your email)', value=username) \
            .props('outlined autocomplete=username').classes('w-full').mark(marks[0])
        if autofocus:
            self.username.props('autofocus')
        self.password = ui.input('Password', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=current-password').classes('w-full').mark(marks[1])

    def check(self, act: actions.Act) -> None:
        if not self.username.value.strip() or not self.password.value:
            act.fail('Enter your username and password.')

    def refused(self, act: actions.Act, message: str) -> None:
        """A failed sign-in: clear the password and say so."""
        self.password.value = ''
        act.fail(message)


class StrengthMeter:
    """A bar and a sentence under a new-password field: zxcvbn's score, or the rule the password breaks."""

    COLORS = ['negative', 'negative', 'warning', 'positive', 'positive']
    WORDS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong']

    def __init__(self, settings: PortalSettings, password: ui.input, confirm: ui.input,
                 username: Callable[[], str]) -> None:
        self.settings, self.password, self.confirm, self.username = settings, password, confirm, username
        self.bar = ui.linear_progress(value=0, show_value=False).props('rounded size=8px').mark('strength-bar')
        self.bar.props['aria-label'] = 'Password strength'
        self.label = ui.label().classes('text-sm').mark('strength')
        self.score, self.hint = 0, ''
        self.scoring = False  # one zxcvbn run at a time: keystrokes typed meanwhile are scored once, together
        password.on_value_change(self.update)
        confirm.on_value_change(lambda: self.update_now(self.score, self.hint))  # the match rule only
        self.update_now()

    async def update(self) -> None:
        if self.scoring:
            return
        self.scoring = True
        try:
            scored = None
            while scored != (self.password.value or ''):
                scored = self.password.value or ''
                self.score, self.hint = await run.io_bound(passwords.strength, scored,
                                                           [self.username(), self.settings.portal_name])
        finally:
            self.scoring = False
        self.update_now(self.score, self.hint)

    def update_now(self, score: int = 0, hint: str = '') -> None:
        value = self.password.value or ''
        problem = passwords.password_problem(value, self.confirm.value or value, username=self.username(),
                                             portal_name=self.settings.portal_name,
                                             min_length=self.settings.password_min_length) if value else None
        self.bar.value = (score + 1) / 5 if value else 0
        self.bar.props['color'] = self.COLORS[score]
        self.bar.update()
        if not value:
            self.label.text = (f'At least {self.settings.password_min_length} characters. '
                               'A few unrelated words work well.')
        elif problem:
            self.label.text = problem
        else:
            self.label.text = f'Strength: {self.WORDS[score]}. {hint}'.strip()


def password_fields(settings: PortalSettings, username: Callable[[], str],
                    label: str = 'Password') -> tuple[ui.input, ui.input, StrengthMeter]:
    """New password + repeat, with the strength meter between them."""
    password = ui.input(label, password=True, password_toggle_button=True) \
        .props('outlined autocomplete=new-password').classes('w-full').mark('password')
    meter_slot = ui.column().classes('w-full gap-1')
    confirm = ui.input(f'Repeat {label.lower()}', password=True, password_toggle_button=True) \
        .props('outlined autocomplete=new-password').classes('w-full').mark('confirm')
    with meter_slot:
        meter = StrengthMeter(settings, password, confirm, username)
    return password, confirm, meter


def help_desk(phone: str) -> None:
    """The help-desk phone line, when the admin set one."""
    if phone:
        ui.label(f'Need help? Call the help desk: {phone}').classes('text-sm text-grey-7')
