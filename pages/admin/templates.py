"""`/admin/templates`: edit each email kind's subject, HTML and text with a live preview from sample values."""
from __future__ import annotations

from nicegui import ui

from services import email_admin

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page
from ..tables import col
from .email import show_answer

VARIABLE_COLUMNS = [col('name', 'Variable', key=True), col('meaning', 'Meaning', key=True)]


@portal_page('/admin/templates', roles=access.ADMIN, title='Email templates')
async def templates_page(page: Page, kind: str = 'reminder_to_review') -> None:
    """Pick a kind, edit it, see the preview, save (validated), reset, or send a test."""
    kinds = email_admin.template_kinds()
    kind = kind if kind in kinds else next(iter(kinds))
    with ui.row().classes('w-full items-center gap-4'):
        heading('Email templates').classes('text-2xl font-bold').mark('templates-page')
        ui.space()
        ui.link('Email delivery (SMTP)', '/admin/email')
        ui.link('Outbox', '/admin/outbox')
    ui.label('Emails never contain health information: only the variables listed below exist, and each '
             'email just says that something is waiting, with a link to the portal.').classes('text-grey-8')
    with ui.row().classes('items-center gap-4'):
        picker = ui.select(kinds, value=kind, label='Email').classes('w-80').props('outlined').mark('kind')
        state_label = ui.label().classes('text-sm text-grey-7').mark('customized')
    with ui.element('div').classes('w-full grid grid-cols-1 lg:grid-cols-2 gap-6'):
        with ui.column().classes('min-w-0 gap-2'):
            subject = ui.input('Subject').props('outlined').classes('w-full').mark('subject')
            html = ui.textarea('HTML').props('outlined input-class="font-mono text-xs" rows=14') \
                .classes('w-full').mark('html')
            text = ui.textarea('Text').props('outlined input-class="font-mono text-xs" rows=8') \
                .classes('w-full').mark('text')
            error = ui.label().classes('text-negative whitespace-pre-wrap').mark('error')
            with ui.row().classes('gap-2'):
                save_button = ui.button('Save', icon='save').mark('save')
                reset_button = ui.button('Reset to default', icon='restart_alt').props('outline').mark('reset')
            saved = actions.Message('save-message', failed='Not saved.')
            with ui.row().classes('w-full items-center gap-2'):
                test_to = ui.input('Send a test to', value=page.signed_in.username).props('outlined dense type=email') \
                    .classes('flex-1').mark('test-to')
                test_button = ui.button('Send test email', icon='send').props('outline').mark('send-test')
            answer = actions.Message('test-answer', failed='Not sent.')
        with ui.column().classes('min-w-0 gap-2'):
            heading('Preview with sample values', 2).classes('text-lg font-bold')
            with ui.card().classes('w-full gap-1'):
                preview_subject = ui.label().classes('font-bold').mark('preview-subject')
                # our own rendered template; ui.html keeps its default (DOMPurify) sanitizing
                preview_html = ui.html('').classes('w-full border rounded').mark('preview-html')
            with ui.expansion('Text version').classes('w-full'):
                preview_text = ui.label().classes('whitespace-pre-wrap font-mono text-xs').mark('preview-text')
            heading('Variables', 2).classes('text-lg font-bold')
            variables = ui.table(columns=VARIABLE_COLUMNS, rows=[], row_key='name') \
                .props('dense flat').classes('w-full').mark('variables')

    state = {'loading': False, 'seq': 0}

    def edited() -> dict[str, str]:
        return {'kind': picker.value, 'subject': subject.value or '', 'html': html.value or '', 'text': text.value or ''}

    async def load() -> None:
        view = await actions.read(email_admin.template_view, kind=picker.value)
        if view is None:
            return
        state['loading'] = True
        subject.value, html.value, text.value = view.subject, view.html, view.text
        state['loading'] = False
        state_label.text = 'Edited by an administrator' if view.customized else 'Shipped default'
        variables.rows = [{'name': '{{ ' + name + ' }}', 'meaning': meaning} for name, meaning in view.variables.items()]
        answer.clear()
        await refresh_preview()

    async def refresh_preview() -> None:
        """Render the edited template with sample values; its problem (if any) shows under the fields."""
        if state['loading']:
            return
        state['seq'] += 1
        mine = state['seq']
        checked = await actions.read(email_admin.live_preview, **edited())
        if checked is None:
            return
        if mine != state['seq']:  # a newer edit (or a save) already asked for its preview
            return
        error.text = checked.problem
        if checked.email is not None:
            preview_subject.text = checked.email.subject
            preview_html.content = checked.email.html
            preview_text.text = checked.email.text

    async def save(act: actions.Act) -> None:
        state['seq'] += 1  # a preview still on its way must not overwrite the outcome of saving
        await act.call(email_admin.save_template, **edited())
        state_label.text = 'Edited by an administrator'
        await refresh_preview()
        act.done('Template saved.')

    async def reset(act: actions.Act) -> None:
        confirm.close()  # what happens next shows on the page
        await act.call(email_admin.reset_template, kind=picker.value)
        await load()
        act.done('The default template is back.')

    async def send_test(act: actions.Act) -> None:
        values = edited()
        result = await act.call(email_admin.send_test_email, to=test_to.value, kind=values['kind'],
                                edited=(values['subject'], values['html'], values['text']))
        show_answer(act, answer, result)

    with ui.dialog() as confirm, ui.card():
        ui.label('Go back to the shipped default? The edited version is deleted.')
        with ui.row():
            confirm_button = ui.button('Reset').props('color=negative').mark('confirm-reset')
            ui.button('Keep editing', on_click=confirm.close).props('flat')

    for field in (subject, html, text):
        field.on_value_change(refresh_preview)
    picker.on_value_change(load)
    save_button.on_click(actions.Action(save, triggers=[save_button], message=saved))
    confirm_button.on_click(actions.Action(reset, triggers=[confirm_button, reset_button], message=saved))
    reset_button.on_click(confirm.open)
    test_button.on_click(actions.Action(send_test, triggers=[test_button], message=answer))
    await load()

