"""`/admin/email`: where the portal sends email (SMTP), with a test email that shows the server's answer."""
from __future__ import annotations

from nicegui import ui

from services import email_admin

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page


PASSWORD_KEPT = 'A password is stored. Leave empty to keep it.'


@portal_page('/admin/email', roles=access.ADMIN, title='Email delivery')
async def email_page(page: Page) -> None:
    """SMTP host, port, encryption, user, password (never shown back), from address; test email."""
    view = await access.call(email_admin.smtp_view, actor=page.signed_in)
    with ui.row().classes('w-full items-center gap-4'):
        heading('Email delivery').classes('text-2xl font-bold').mark('email-page')
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
        host = ui.input('SMTP host', value=view.host, placeholder='mail.example.org').props('outlined') \
            .classes('w-full').mark('host')
        port = ui.input('Port', value=str(view.port)).props('outlined inputmode=numeric').classes('w-40').mark('port')
        ui.label("Encryption (the server's certificate is always verified)").classes('text-sm text-grey-8')
        tls = ui.radio(email_admin.TLS_CHOICES, value=view.tls).props('inline').mark('tls')
        user = ui.input('User name', value=view.user).props('outlined autocomplete=off').classes('w-full').mark('user')
        password = ui.input('Password', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('password')
        password_state = ui.label(PASSWORD_KEPT if view.password_set else 'No password stored.') \
            .classes('text-xs text-grey-7').mark('password-state')
        clear = ui.checkbox('Remove the stored password').mark('clear-password')
        clear.set_visibility(view.password_set)
        mail_from = ui.input('From address', value=view.mail_from, placeholder='no-reply@clinic.example') \
            .props('outlined').classes('w-full').mark('mail-from')
        for key, element in (('smtp_host', host), ('smtp_port', port), ('smtp_user', user),
                             ('smtp_password', password), ('mail_from', mail_from)):
            _hint(element, view, key)
        save_button = ui.button('Save', icon='save').mark('save')
        saved = actions.Message('error', failed='Not saved.')
    with ui.card().classes('w-full max-w-xl gap-2'):
        ui.label('Send a test email (uses the saved settings)').classes('font-bold')
        with ui.row().classes('w-full items-center gap-2'):
            test_to = ui.input('To', value=page.signed_in.username).props('outlined dense type=email') \
                .classes('flex-1').mark('test-to')
            test_button = ui.button('Send test email', icon='send').mark('send-test')
        answer = actions.Message('test-answer', failed='Not sent.')

    async def save(act: actions.Act) -> None:
        diff = await act.call(email_admin.save_smtp, host=host.value, port=port.value, tls=tls.value,
                              user=user.value, mail_from=mail_from.value, password=password.value or None,
                              clear_password=clear.value)
        fresh = await act.read(email_admin.smtp_view)
        password.value = ''
        clear.value = False
        clear.set_visibility(fresh.password_set)
        password_state.text = PASSWORD_KEPT if fresh.password_set else 'No password stored.'
        effective.text = f'Mail goes to: {fresh.effective}'
        act.done('Saved.' if diff else 'Nothing changed.')

    async def send_test(act: actions.Act) -> None:
        result = await act.call(email_admin.send_test_email, to=test_to.value)
        show_answer(act, answer, result)

    save_button.on_click(actions.Action(save, triggers=[save_button], message=saved))
    test_button.on_click(actions.Action(send_test, triggers=[test_button], message=answer))


def show_answer(act: actions.Act, answer: actions.Message, result: email_admin.TestResult) -> None:
    """What the mail server answered; a refusal is shown as 'Not sent. …' (the send itself is done either way)."""
    if result.ok:
        act.done(f'Server answered: {result.answer}')
    else:
        answer.error(result.answer)


def _hint(element: ui.input, view: email_admin.SmtpView, key: str) -> None:
    """A Quasar hint under a field the environment overrides."""
    var = view.overridden.get(key)
    if var:
        element.props['hint'] = f'{var} overrides this'
