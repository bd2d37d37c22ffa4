"""`/activate`: the invitation link (or a pasted activation code) leads to a new account or links an existing one.

Screens, in order: Activation code -> "Who is this activation code for?" -> verify email -> username and
password -> the portal. The second email link (`&existing=1`) and "I already have an account" lead to a
sign-in screen that adds the code to that account instead.
"""
from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from nicegui import ui

from models.shapes import Actor
from services import activation, auth, contact_accounts, passwords
from services.contact_accounts import EmailTaken, NewAccount
from services.settings import PortalSettings

from .. import access, actions, frame
from ..account_widgets import Credentials, help_desk, password_fields
from ..frame import heading
from ..portal import Page, portal_page

T = TypeVar('T')
MYSELF, SOMEONE_ELSE = 'myself', 'someone else'
CODE_ADDED = 'The activation code was added to your account.'


@portal_page('/activate', roles=access.PUBLIC, title='Activate your account')
async def activate_page(page: Page, code: str | None = None, existing: str | None = None) -> None:
    """The activation screen; a `?code=` link fills in the code and goes on by itself when it is valid."""
    card = ui.card().classes('w-full max-w-lg mx-auto p-6 gap-3').mark('activation-card')
    flow = ActivationFlow(card, page.actor, page.settings, existing=existing == '1')
    flow.show_code_step(prefill=(code or '')[:64])
    if code:
        ui.navigate.history.replace('/activate')  # the code leaves the address bar (and the browser history)
        ui.timer(0, lambda: flow.check_code(None), once=True)  # as if NEXT was pressed, once the page is shown


class ActivationFlow:
    """One browser tab's walk through the screens; the code lives only in this object, never in storage."""

    def __init__(self, card: ui.card, actor: Actor | None, settings: PortalSettings, *, existing: bool) -> None:
        self.card = card
        self.actor = actor
        self.settings = settings
        self.existing = existing
        self.code = ''
        self.email = ''
        self.who = MYSELF
        self.delegate_name = ''
        self.delegate_relationship = ''

    # ------------------------------------------------------------------------- 1. activation code

    def show_code_step(self, prefill: str = '') -> None:
        self.card.clear()
        with self.card:
            heading('Activate your portal account').classes('text-2xl font-bold')
            ui.label('Enter the activation code from your invitation email, then press NEXT.') \
                .classes('text-grey-8')
            self.code_input = ui.input('Activation code', value=prefill, placeholder='XXXX-XXXX-XXXX-XXXX') \
                .props('outlined autofocus autocomplete=off spellcheck=false').classes('w-full').mark('code')
            message = actions.Message('code-error')
            next_button = ui.button('NEXT').classes('w-full').props('size=lg').mark('next')
            self.check_code = actions.Action(self.submit_code, triggers=[next_button], message=message)
            next_button.on_click(self.check_code)
            self.code_input.on('keydown.enter', self.check_code)
            help_desk(self.settings.help_desk_phone)

    async def submit_code(self, act: actions.Act) -> None:
        typed = self.code_input.value or ''
        if not activation.normalize_code(typed):
            act.fail('Enter the activation code from your email.')
        await act.run(activation.check_code, code=typed, ip_address=access.client_ip())
        self.code = typed
        if self.existing:
            self.show_sign_in_step()
        else:
            self.show_who_step()

    # ------------------------------------------------------------------------- 2. who is it for

    def show_who_step(self) -> None:
        self.card.clear()
        frame.focus_heading(self.card)  # a new step: the focus goes to its heading
        with self.card:
            heading('Who is this activation code for?').classes('text-2xl font-bold').mark('who-title')
            who = ui.radio([MYSELF, SOMEONE_ELSE], value=self.who).props('inline').mark('who')
            with ui.column().classes('w-full gap-2') as delegate:
                ui.label('You register on behalf of the invited contact. Tell us who you are.') \
                    .classes('text-sm text-grey-8')
                name = ui.input('Your name', value=self.delegate_name).props('outlined').classes('w-full') \
                    .mark('delegate-name')
                relationship = ui.input('Your relationship to the contact (e.g. office assistant)',
                                        value=self.delegate_relationship).props('outlined').classes('w-full') \
                    .mark('delegate-relationship')
            delegate.bind_visibility_from(who, 'value', backward=lambda v: v == SOMEONE_ELSE)
            error = actions.Message('who-error')

            def next_step() -> None:  # nothing is stored until the account is created
                self.who, self.delegate_name, self.delegate_relationship = who.value, name.value, relationship.value
                if who.value == SOMEONE_ELSE and not (name.value.strip() and relationship.value.strip()):
                    error.error('Enter your name and your relationship to the contact.')
                    return
                self.show_email_step()

            ui.button('NEXT', on_click=next_step).classes('w-full').props('size=lg').mark('who-next')
            ui.separator()
            ui.button('I already have an account: sign in and add this code', on_click=self.show_sign_in_step) \
                .props('flat no-caps').classes('w-full').mark('have-account')

    # ------------------------------------------------------------------------- 3. verify email

    def show_email_step(self) -> None:
        self.card.clear()
        frame.focus_heading(self.card)  # a new step: the focus goes to its heading
        with self.card:
            heading('Verify your email').classes('text-2xl font-bold').mark('email-title')
            ui.label('Type the email address you want to use. If it is not the address the invitation was sent to, '
                     'we email a 6-digit code to it.').classes('text-grey-8')
            email = ui.input('Email', value=self.email).props('outlined autocomplete=email type=email') \
                .classes('w-full').mark('email')
            error = actions.Message('email-error')
            taken = ui.column().classes('w-full')
            with ui.column().classes('w-full gap-2') as code_box:
                ui.label('We sent a 6-digit code to this address. It works for 10 minutes.').classes('text-sm')
                digits = ui.input('Verification code').props('outlined inputmode=numeric autocomplete=one-time-code') \
                    .classes('w-full').mark('verification-code')
                verify = ui.button('VERIFY').classes('w-full').mark('verify')
                resend = ui.button('Send a new code').props('flat no-caps').mark('resend')
            code_box.set_visibility(False)

            async def send(act: actions.Act) -> None:
                matches = await self.unless_taken(taken, email.value, act.call(
                    contact_accounts.start_email_check, code=self.code, email=email.value,
                    ip_address=access.client_ip()))
                self.email = email.value.strip().lower()
                if matches:
                    self.show_account_step()
                    return
                email.disable()
                code_box.set_visibility(True)
                next_button.set_visibility(False)

            async def confirm(act: actions.Act) -> None:
                await act.run(contact_accounts.confirm_email, code=self.code, email=self.email,
                              verification_code=digits.value, ip_address=access.client_ip())
                self.show_account_step()

            checking = actions.Action(confirm, triggers=[verify], message=error)
            verify.on_click(checking)
            digits.on('keydown.enter', checking)
            resend.on_click(actions.Action(send, triggers=[resend], message=error))
            next_button = actions.button('NEXT', send, message=error).classes('w-full').props('size=lg') \
                .mark('email-next')
            ui.button('Back', on_click=self.show_who_step).props('flat')

    # ------------------------------------------------------------------------- 4. username and password

    def show_account_step(self) -> None:
        self.card.clear()
        frame.focus_heading(self.card)  # a new step: the focus goes to its heading
        email_is_username = self.settings.email_is_username
        with self.card:
            heading('Choose your username and password').classes('text-2xl font-bold').mark('account-title')
            username = ui.input('Username', value=self.email if email_is_username else '') \
                .props('outlined autocomplete=username').classes('w-full').mark('username')
            if email_is_username:
                username.props('readonly hint="Your username is your email address."')
            else:
                username.props('hint="We recommend your email address. 3 to 64 letters, digits or . _ @ + -"')
            password, confirm, _meter = password_fields(self.settings, lambda: username.value or self.email)
            error = actions.Message('account-error')
            taken = ui.column().classes('w-full')

            async def create(act: actions.Act) -> None:
                new = NewAccount(email=self.email, username=username.value, password=password.value,
                                 confirm=confirm.value, for_someone_else=self.who == SOMEONE_ELSE,
                                 delegate_name=self.delegate_name, delegate_relationship=self.delegate_relationship)
                signed_in = await self.unless_taken(taken, self.email, act.call(
                    passwords.hashing(contact_accounts.create_account), code=self.code, new=new,
                    ip_address=access.client_ip()))
                act.done(navigate=access.start_session(signed_in.token, access.home_of(signed_in.actor)))

            actions.button('CREATE ACCOUNT', create, message=error, enter=[confirm]).classes('w-full') \
                .props('size=lg').mark('create-account')
            ui.button('Back', on_click=self.show_email_step).props('flat')

    async def unless_taken(self, taken: ui.column, email: str, pending: Awaitable[T]) -> T:
        """The result of `pending`; when an account already uses the email, also offer to sign in and add the code."""
        taken.clear()
        try:
            return await pending
        except EmailTaken:
            with taken:
                ui.button('Sign in and add the code', on_click=lambda: self.show_sign_in_step(email)) \
                    .classes('w-full').mark('sign-in-instead')
            raise  # the action shows why next to the button

    # ------------------------------------------------------------------------- existing account

    def show_sign_in_step(self, username_value: str = '') -> None:
        self.card.clear()
        frame.focus_heading(self.card)  # a new step: the focus goes to its heading
        with self.card:
            heading('Add this code to your account').classes('text-2xl font-bold').mark('link-title')
            if self.actor is not None and self.actor.role == 'contact':
                ui.label(f'You are signed in as {self.actor.username}.')
                actions.button('ADD TO MY ACCOUNT', self.link_signed_in, message=actions.Message('link-error'),
                               roles=access.CONTACT).classes('w-full').props('size=lg').mark('add-to-account')
                return
            ui.label('Sign in with your portal account; the activation code is then added to it.') \
                .classes('text-grey-8')
            fields = Credentials(marks=('link-username', 'link-password'), username=username_value)
            error = actions.Message('link-error')

            async def sign_in(act: actions.Act) -> None:
                fields.check(act)
                signed_in = await act.call(passwords.hashing(contact_accounts.sign_in_and_link),
                                           username=fields.username.value,
                                           password=fields.password.value, code=self.code,
                                           ip_address=access.client_ip())
                if signed_in is None:
                    fields.refused(act, auth.SIGN_IN_FAILED)
                act.done(CODE_ADDED, navigate=access.start_session(signed_in.token, access.home_of(signed_in.actor)))

            actions.button('SIGN IN AND ADD CODE', sign_in, message=error, enter=[fields.password]).classes('w-full') \
                .props('size=lg').mark('link-sign-in')
            ui.link('Forgot password?', '/forgot-password').classes('text-sm')
            ui.button('I do not have an account yet', on_click=self.show_who_step).props('flat no-caps') \
                .mark('no-account')

    async def link_signed_in(self, act: actions.Act) -> None:
        message = await act.call(contact_accounts.link_code, code=self.code, ip_address=access.client_ip())
        act.done(message, navigate='/')
