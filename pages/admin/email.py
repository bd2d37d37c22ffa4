"""`/admin/email`: where the portal sends email (SMTP), with a test email that shows the server's answer."""
from __future__ import annotations

from nicegui import run, ui

from services import email_admin
from services.errors import InvalidInput

from .. import guard, page
from ..frame import frame_legacy as frame

PASSWORD_KEPT = 'A password is stored. Leave empty to keep it.'


def register() -> None:
    page('/admin/email')(email_page)


async def email_page() -> None:
    """SMTP host, port, encryption, user, password (never shown back), from address; test email."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    view = await guard.call(email_admin.smtp_view)
    with frame('Email delivery', actor):
        with ui.row().classes('w-full items-center gap-4'):
            ui.label('Email delivery').classes('text-2xl font-bold').mark('email-page')
            ui.space()
            ui.link('Email templates', '/admin/templates')
            ui.link('Outbox', '/admin/outbox')
        effective = ui.label(f'Mail goes to: {view.effective}').classes('text-grey-8').mark('effective')
        if view.overridden:
            ui.label('Set by environment variables on the server, which win over the values below: '
                     + ', '.join(f'{key.replace("smtp_", "").replace("_", " ")} ({var})'
                                 for key, var in view.overridden.items()) + '.') \
                .classes('text-warning').mark('overrides')
        with ui.card().classes('w-full max-w-xl gap-2'):
            host = ui.input('SMTP host', value=view.host, placeholder='mail.example.org') \
                .props(f'outlined {_hint(view, "smtp_host")}').classes('w-full').mark('host')
            port = ui.input('Port', value=str(view.port)).props(f'outlined inputmode=numeric {_hint(view, "smtp_port")}') \
                .classes('w-40').mark('port')
            ui.label("Encryption (the server's certificate is always verified)").classes('text-sm text-grey-8')
            tls = ui.radio(email_admin.TLS_CHOICES, value=view.tls).props('inline').mark('tls')
            user = ui.input('User name', value=view.user).props(f'outlined autocomplete=off {_hint(view, "smtp_user")}') \
                .classes('w-full').mark('user')
            password = ui.input('Password', password=True, password_toggle_button=True) \
                .props(f'outlined autocomplete=new-password {_hint(view, "smtp_password")}') \
                .classes('w-full').mark('password')
            password_state = ui.label(PASSWORD_KEPT if view.password_set else 'No password stored.') \
                .classes('text-xs text-grey-7').mark('password-state')
            clear = ui.checkbox('Remove the stored password').mark('clear-password')
            clear.set_visibility(view.password_set)
            mail_from = ui.input('From address', value=view.mail_from, placeholder='no-reply@clinic.example') \
                .props(f'outlined {_hint(view, "mail_from")}').classes('w-full').mark('mail-from')
            error = ui.label().classes('text-negative').mark('error')
            save_button = ui.button('Save', icon='save').mark('save')
        with ui.card().classes('w-full max-w-xl gap-2'):
            ui.label('Send a test email (uses the saved settings)').classes('font-bold')
            with ui.row().classes('w-full items-center gap-2'):
                test_to = ui.input('To', value=actor.username).props('outlined dense type=email') \
                    .classes('flex-1').mark('test-to')
                test_button = ui.button('Send test email', icon='send').mark('send-test')
            answer = ui.label().classes('text-sm whitespace-pre-wrap').mark('test-answer')

    async def save() -> None:
        me = await guard.require(*guard.ADMIN)
        if me is None:
            return
        try:
            diff = await guard.call(email_admin.save_smtp, host=host.value, port=port.value, tls=tls.value,
                                    user=user.value, mail_from=mail_from.value, password=password.value or None,
                                    clear_password=clear.value, actor=me)
        except InvalidInput as problem:
            error.text = f'Not saved. {problem}'
            return
        error.text = ''
        fresh = await guard.call(email_admin.smtp_view)
        password.value = ''
        clear.value = False
        clear.set_visibility(fresh.password_set)
        password_state.text = PASSWORD_KEPT if fresh.password_set else 'No password stored.'
        effective.text = f'Mail goes to: {fresh.effective}'
        ui.notify('Saved.' if diff else 'Nothing changed.', type='positive')

    async def send_test() -> None:
        me = await guard.require(*guard.ADMIN)
        if me is None:
            return
        test_button.disable()
        answer.text = 'Sending…'
        try:
            result = await run.io_bound(email_admin.send_test_email, to=test_to.value, actor=me)
        except InvalidInput as problem:
            answer.text = f'Not sent. {problem}'
            return
        finally:
            test_button.enable()
        answer.text = f'Server answered: {result.answer}' if result.ok else f'Not sent. {result.answer}'

    save_button.on_click(save)
    test_button.on_click(send_test)


def _hint(view: email_admin.SmtpView, key: str) -> str:
    """A Quasar hint under a field the environment overrides."""
    var = view.overridden.get(key)
    return f'hint="{var} overrides this"' if var else ''
