"""`/activate`: the invitation link (or a pasted activation code) leads to a new account or links an existing one.

Screens, in order: Activation code -> "Who is this activation code for?" -> verify email -> username and
password -> the portal. The second email link (`&existing=1`) and "I already have an account" lead to a
sign-in screen that adds the code to that account instead.
"""
from __future__ import annotations

from nicegui import run, ui

from models.shapes import Actor
from services import activation, auth, contact_accounts
from services.contact_accounts import EmailTaken, NewAccount
from services.errors import PortalError
from services.settings import get_settings

from . import guard, page
from .account_widgets import error_label, help_desk, password_fields, show
from .frame import frame_legacy as frame

MYSELF, SOMEONE_ELSE = 'myself', 'someone else'


def register() -> None:
    page('/activate')(activate_page)


async def activate_page(code: str | None = None, existing: str | None = None) -> None:
    """The activation screen; a `?code=` link fills in the code and goes on by itself when it is valid."""
    actor = await guard.current_actor()
    with frame('Activate your account', actor):
        card = ui.card().classes('w-full max-w-lg mx-auto p-6 gap-3').mark('activation-card')
    flow = ActivationFlow(card, actor, existing=existing == '1')
    flow.show_code_step(prefill=(code or '')[:64])
    if code:
        ui.navigate.history.replace('/activate')  # the code leaves the address bar (and the browser history)
        await flow.submit_code()


class ActivationFlow:
    """One browser tab's walk through the screens; the code lives only in this object, never in storage."""

    def __init__(self, card: ui.card, actor: Actor | None, *, existing: bool) -> None:
        self.card = card
        self.actor = actor
        self.existing = existing
        self.code = ''
        self.email = ''
        self.who = MYSELF
        self.delegate_name = ''
        self.delegate_relationship = ''
        self.settings = get_settings()

    # ------------------------------------------------------------------------- 1. activation code

    def show_code_step(self, prefill: str = '') -> None:
        self.card.clear()
        with self.card:
            ui.label('Activate your portal account').classes('text-2xl font-bold')
            ui.label('Enter the activation code from your invitation email, then press NEXT.') \
                .classes('text-grey-8')
            self.code_input = ui.input('Activation code', value=prefill, placeholder='XXXX-XXXX-XXXX-XXXX') \
                .props('outlined autofocus autocomplete=off spellcheck=false').classes('w-full').mark('code')
            self.code_input.on('keydown.enter', self.submit_code)
            self.code_error = error_label('code-error')
            self.next_button = ui.button('NEXT', on_click=self.submit_code).classes('w-full').props('size=lg') \
                .mark('next')
            help_desk(self.settings.help_desk_phone)

    async def submit_code(self) -> None:
        typed = self.code_input.value or ''
        self.code_error.set_visibility(False)
        if not activation.normalize_code(typed):
            show(self.code_error, 'Enter the activation code from your email.')
            return
        self.next_button.disable()
        try:
            await run.io_bound(activation.check_code, code=typed, ip_address=guard.client_ip())
        except PortalError as error:
            show(self.code_error, str(error))
            return
        finally:
            self.next_button.enable()
        self.code = typed
        if self.existing:
            self.show_sign_in_step()
        else:
            self.show_who_step()

    # ------------------------------------------------------------------------- 2. who is it for

    def show_who_step(self) -> None:
        self.card.clear()
        with self.card:
            ui.label('Who is this activation code for?').classes('text-2xl font-bold').mark('who-title')
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
            error = error_label('who-error')

            def next_step() -> None:
                self.who, self.delegate_name, self.delegate_relationship = who.value, name.value, relationship.value
                if who.value == SOMEONE_ELSE and not (name.value.strip() and relationship.value.strip()):
                    show(error, 'Enter your name and your relationship to the contact.')
                    return
                self.show_email_step()

            ui.button('NEXT', on_click=next_step).classes('w-full').props('size=lg').mark('who-next')
            ui.separator()
            ui.button('I already have an account: sign in and add this code', on_click=self.show_sign_in_step) \
                .props('flat no-caps').classes('w-full').mark('have-account')

    # ------------------------------------------------------------------------- 3. verify email

    def show_email_step(self) -> None:
        self.card.clear()
        with self.card:
            ui.label('Verify your email').classes('text-2xl font-bold').mark('email-title')
            ui.label('Type the email address you want to use. If it is not the address the invitation was sent to, '
                     'we email a 6-digit code to it.').classes('text-grey-8')
            email = ui.input('Email', value=self.email).props('outlined autocomplete=email type=email') \
                .classes('w-full').mark('email')
            error = error_label('email-error')
            taken = ui.column().classes('w-full')
            with ui.column().classes('w-full gap-2') as code_box:
                ui.label('We sent a 6-digit code to this address. It works for 10 minutes.').classes('text-sm')
                digits = ui.input('Verification code').props('outlined inputmode=numeric autocomplete=one-time-code') \
                    .classes('w-full').mark('verification-code')
                verify = ui.button('VERIFY').classes('w-full').mark('verify')
                resend = ui.button('Send a new code').props('flat no-caps').mark('resend')
            code_box.set_visibility(False)

            async def send() -> None:
                error.set_visibility(False)
                taken.clear()
                try:
                    matches = await run.io_bound(contact_accounts.start_email_check, code=self.code,
                                                 email=email.value, ip_address=guard.client_ip())
                except EmailTaken as problem:
                    show(error, str(problem))
                    with taken:
                        ui.button('Sign in and add the code', on_click=lambda: self.show_sign_in_step(email.value)) \
                            .classes('w-full').mark('sign-in-instead')
                    return
                except PortalError as problem:
                    show(error, str(problem))
                    return
                self.email = email.value.strip().lower()
                if matches:
                    self.show_account_step()
                else:
                    email.disable()
                    code_box.set_visibility(True)
                    next_button.set_visibility(False)

            async def confirm() -> None:
                try:
                    await run.io_bound(contact_accounts.confirm_email, code=self.code, email=self.email,
                                       verification_code=digits.value, ip_address=guard.client_ip())
                except PortalError as problem:
                    show(error, str(problem))
                    return
                self.show_account_step()

            verify.on_click(confirm)
            resend.on_click(send)
            digits.on('keydown.enter', confirm)
            next_button = ui.button('NEXT', on_click=send).classes('w-full').props('size=lg').mark('email-next')
            ui.button('Back', on_click=self.show_who_step).props('flat')

    # ------------------------------------------------------------------------- 4. username and password

    def show_account_step(self) -> None:
        self.card.clear()
        email_is_username = self.settings.email_is_username
        with self.card:
            ui.label('Choose your username and password').classes('text-2xl font-bold').mark('account-title')
            username = ui.input('Username', value=self.email if email_is_username else '') \
                .props('outlined autocomplete=username').classes('w-full').mark('username')
            if email_is_username:
                username.props('readonly hint="Your username is your email address."')
            else:
                username.props('hint="We recommend your email address. 3 to 64 letters, digits or . _ @ + -"')
            password, confirm, _meter = password_fields(self.settings, lambda: username.value or self.email)
            error = error_label('account-error')
            taken = ui.column().classes('w-full')

            async def create() -> None:
                error.set_visibility(False)
                taken.clear()
                new = NewAccount(email=self.email, username=username.value, password=password.value,
                                 confirm=confirm.value, for_someone_else=self.who == SOMEONE_ELSE,
                                 delegate_name=self.delegate_name, delegate_relationship=self.delegate_relationship)
                button.disable()
                try:
                    signed_in = await run.io_bound(contact_accounts.create_account, code=self.code, new=new,
                                                   ip_address=guard.client_ip())
                except EmailTaken as problem:
                    show(error, str(problem))
                    with taken:
                        ui.button('Sign in and add the code', on_click=lambda: self.show_sign_in_step(self.email)) \
                            .classes('w-full').mark('sign-in-instead')
                    return
                except PortalError as problem:
                    show(error, str(problem))
                    return
                finally:
                    button.enable()
                guard.start_session(signed_in.token)
                ui.navigate.to(guard.home_of(signed_in.actor))

            confirm.on('keydown.enter', create)
            button = ui.button('CREATE ACCOUNT', on_click=create).classes('w-full').props('size=lg') \
                .mark('create-account')
            ui.button('Back', on_click=self.show_email_step).props('flat')

    # ------------------------------------------------------------------------- existing account

    def show_sign_in_step(self, username_value: str = '') -> None:
        self.card.clear()
        with self.card:
            ui.label('Add this code to your account').classes('text-2xl font-bold').mark('link-title')
            if self.actor is not None and self.actor.role == 'contact':
                ui.label(f'You are signed in as {self.actor.username}.')
                ui.button('ADD TO MY ACCOUNT', on_click=self.link_signed_in).classes('w-full').props('size=lg') \
                    .mark('add-to-account')
                self.link_error = error_label('link-error')
                return
            ui.label('Sign in with your portal account; the activation code is then added to it.') \
                .classes('text-grey-8')
            username = ui.input('Username (your email)', value=username_value) \
                .props('outlined autocomplete=username').classes('w-full').mark('link-username')
            password = ui.input('Password', password=True, password_toggle_button=True) \
                .props('outlined autocomplete=current-password').classes('w-full').mark('link-password')
            self.link_error = error_label('link-error')

            async def sign_in() -> None:
                if not username.value.strip() or not password.value:
                    show(self.link_error, 'Enter your username and password.')
                    return
                try:
                    signed_in = await run.io_bound(contact_accounts.sign_in_and_link, username=username.value,
                                                   password=password.value, code=self.code,
                                                   ip_address=guard.client_ip())
                except PortalError as problem:
                    show(self.link_error, str(problem))
                    return
                if signed_in is None:
                    password.value = ''
                    show(self.link_error, auth.SIGN_IN_FAILED)
                    return
                guard.start_session(signed_in.token)
                ui.notify('The activation code was added to your account.', type='positive')
                ui.navigate.to(guard.home_of(signed_in.actor))

            password.on('keydown.enter', sign_in)
            ui.button('SIGN IN AND ADD CODE', on_click=sign_in).classes('w-full').props('size=lg') \
                .mark('link-sign-in')
            ui.link('Forgot password?', '/forgot-password').classes('text-sm')
            ui.button('I do not have an account yet', on_click=self.show_who_step).props('flat no-caps') \
                .mark('no-account')

    async def link_signed_in(self) -> None:
        actor = await guard.require()
        if actor is None:
            return
        try:
            message = await run.io_bound(contact_accounts.link_code, actor=actor, code=self.code,
                                         ip_address=guard.client_ip())
        except PortalError as problem:
            show(self.link_error, str(problem))
            return
        ui.notify(message, type='positive')
        ui.navigate.to('/')
