"""`/admin/templates`: edit each email kind's subject, HTML and text with a live preview from sample values."""
from __future__ import annotations

from nicegui import run, ui

from services import email_admin
from services.errors import InvalidInput

from .. import guard, page
from ..frame import frame_legacy as frame

VARIABLE_COLUMNS = [
    {'name': 'name', 'label': 'Variable', 'field': 'name', 'align': 'left'},
    {'name': 'meaning', 'label': 'Meaning', 'field': 'meaning', 'align': 'left'},
]


def register() -> None:
    page('/admin/templates')(templates_page)


async def templates_page(kind: str = 'reminder_to_review') -> None:
    """Pick a kind, edit it, see the preview, save (validated), reset, or send a test."""
    actor = await guard.require(*guard.ADMIN)
    if actor is None:
        return
    kinds = email_admin.template_kinds()
    kind = kind if kind in kinds else next(iter(kinds))
    with frame('Email templates', actor):
        with ui.row().classes('w-full items-center gap-4'):
            ui.label('Email templates').classes('text-2xl font-bold').mark('templates-page')
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
                with ui.row().classes('w-full items-center gap-2'):
                    test_to = ui.input('Send a test to', value=actor.username).props('outlined dense type=email') \
                        .classes('flex-1').mark('test-to')
                    test_button = ui.button('Send test email', icon='send').props('outline').mark('send-test')
                answer = ui.label().classes('text-sm whitespace-pre-wrap').mark('test-answer')
            with ui.column().classes('min-w-0 gap-2'):
                ui.label('Preview with sample values').classes('text-lg font-bold')
                with ui.card().classes('w-full gap-1'):
                    preview_subject = ui.label().classes('font-bold').mark('preview-subject')
                    # our own rendered template; ui.html keeps its default (DOMPurify) sanitizing
                    preview_html = ui.html('').classes('w-full border rounded').mark('preview-html')
                with ui.expansion('Text version').classes('w-full'):
                    preview_text = ui.label().classes('whitespace-pre-wrap font-mono text-xs').mark('preview-text')
                ui.label('Variables').classes('text-lg font-bold')
                variables = ui.table(columns=VARIABLE_COLUMNS, rows=[], row_key='name') \
                    .props('dense flat').classes('w-full').mark('variables')

    state = {'loading': False, 'seq': 0}

    def edited() -> dict[str, str]:
        return {'kind': picker.value, 'subject': subject.value or '', 'html': html.value or '', 'text': text.value or ''}

    async def load() -> None:
        if await guard.require(*guard.ADMIN) is None:
            return
        view = await guard.call(email_admin.template_view, kind=picker.value)
        state['loading'] = True
        subject.value, html.value, text.value = view.subject, view.html, view.text
        state['loading'] = False
        state_label.text = 'Edited by an administrator' if view.customized else 'Shipped default'
        variables.rows = [{'name': '{{ ' + name + ' }}', 'meaning': meaning} for name, meaning in view.variables.items()]
        answer.text = ''
        await refresh_preview()

    async def refresh_preview() -> None:
        if state['loading']:
            return
        state['seq'] += 1
        mine = state['seq']
        try:
            rendered = await guard.call(email_admin.preview, **edited())
        except InvalidInput as problem:
            if mine == state['seq']:
                error.text = str(problem)
            return
        if mine != state['seq']:  # a newer edit already asked for its preview
            return
        error.text = ''
        preview_subject.text = rendered.subject
        preview_html.content = rendered.html
        preview_text.text = rendered.text

    async def save() -> None:
        me = await guard.require(*guard.ADMIN)
        if me is None:
            return
        state['seq'] += 1  # a preview still on its way must not overwrite the outcome of saving
        try:
            await guard.call(email_admin.save_template, actor=me, **edited())
        except InvalidInput as problem:
            error.text = f'Not saved. {problem}'
            ui.notify('Not saved: the template has an error.', type='negative')
            return
        state_label.text = 'Edited by an administrator'
        ui.notify('Template saved.', type='positive')
        await refresh_preview()

    async def reset() -> None:
        me = await guard.require(*guard.ADMIN)
        if me is None:
            return
        await guard.call(email_admin.reset_template, kind=picker.value, actor=me)
        confirm.close()
        await load()
        ui.notify('The default template is back.', type='positive')

    async def send_test() -> None:
        me = await guard.require(*guard.ADMIN)
        if me is None:
            return
        values = edited()
        test_button.disable()
        answer.text = 'Sending…'
        try:
            result = await run.io_bound(email_admin.send_test_email, to=test_to.value, actor=me, kind=values['kind'],
                                        edited=(values['subject'], values['html'], values['text']))
        except InvalidInput as problem:
            answer.text = f'Not sent. {problem}'
            return
        finally:
            test_button.enable()
        answer.text = f'Server answered: {result.answer}' if result.ok else f'Not sent. {result.answer}'

    with ui.dialog() as confirm, ui.card():
        ui.label('Go back to the shipped default? The edited version is deleted.')
        with ui.row():
            ui.button('Reset', on_click=reset).props('color=negative').mark('confirm-reset')
            ui.button('Keep editing', on_click=confirm.close).props('flat')

    for field in (subject, html, text):
        field.on_value_change(refresh_preview)
    picker.on_value_change(load)
    save_button.on_click(save)
    reset_button.on_click(confirm.open)
    test_button.on_click(send_test)
    await load()
