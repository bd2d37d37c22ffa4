"""New Registration: `/registration/start` signs the contact out and opens the wizard `/registration/{token}`.

The wizard is a `ui.stepper`: one section of the questionnaire a step, then a review step and the submit.
Every Next checks the step on the server and keeps the answers in the token's draft, so a reload loses nothing.
"""
from __future__ import annotations

from typing import Any

from nicegui import app, run, ui
from nicegui.events import UploadEventArguments

from services import auth, questionnaire, registration
from services.errors import NotAvailable, PortalError

from . import guard, page
from .frame import frame_legacy as frame


def register() -> None:
    page('/registration/start')(start_page)
    page('/registration/{token}')(wizard_page)


async def start_page() -> None:
    """Create the registration token, end the contact's session, open the wizard."""
    actor = await guard.require('contact')
    if actor is None:
        return
    try:
        token = await guard.call(registration.start, actor=actor)
    except PortalError as error:
        ui.notify(str(error), type='warning')
        ui.navigate.to('/')
        return
    session_token = app.storage.user.pop(guard.SESSION_KEY, None)
    await run.io_bound(auth.end_session, session_token, ip_address=guard.client_ip())
    ui.navigate.to(f'/registration/{token}')


async def wizard_page(token: str) -> None:
    """The questionnaire wizard behind a registration token (no sign-in: the token is the pass)."""
    try:
        state = await guard.call(registration.wizard_state, token=token)
    except NotAvailable as error:
        with frame('New registration'):
            link_gone(str(error))
        return
    with frame(state.definition.get('title') or 'New registration') as content:
        Wizard(token, state, content).build()


def link_gone(message: str) -> None:
    """The clear message for an unknown, used or expired registration link."""
    with ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3'):
        ui.label('New registration').classes('text-2xl font-bold')
        ui.label(message).classes('text-negative').mark('registration-gone')
        ui.link('Go to the sign-in page', '/login').mark('to-sign-in')


class Wizard:
    """One browser's wizard: the widgets of every step and the files uploaded so far."""

    def __init__(self, token: str, state: registration.WizardState, content: ui.column) -> None:
        self.token = token
        self.definition = state.definition
        self.sections = state.definition['sections']
        self.answers = state.answers
        self.step = state.step
        self.files = list(state.files)
        self.expires_at = state.expires_at
        self.upload_max_bytes = state.upload_max_bytes
        self.content = content
        self.inputs: dict[str, ui.element] = {}
        self.errors: dict[str, ui.label] = {}
        self.file_lists: dict[str, ui.column] = {}

    def build(self) -> None:
        ui.label(self.definition.get('title') or 'New registration').classes('text-2xl font-bold')
        ui.label('You were signed out of the portal. Answer the questions step by step; fields marked * are '
                 f'required. Your answers are kept until {self.expires_at:%H:%M} UTC.').classes('text-grey-8')
        self.progress_label = ui.label().classes('text-sm font-medium').mark('progress-label')
        self.progress = ui.linear_progress(value=0, show_value=False).props('rounded size=8px').mark('progress')
        keys = [s['key'] for s in self.sections] + [questionnaire.REVIEW_STEP]
        start = self.step if self.step in keys else keys[0]
        with ui.stepper(value=start, on_value_change=self.update_progress).props('vertical animated') \
                .classes('w-full').mark('stepper') as self.stepper:
            for number, section in enumerate(self.sections):
                self.build_section(section, first=number == 0)
            with ui.step(questionnaire.REVIEW_STEP, title='Review and submit'):
                self.review_box = ui.column().classes('w-full gap-3').mark('review')
                with ui.stepper_navigation():
                    ui.button('Submit registration', icon='send', on_click=self.submit).mark('submit')
                    ui.button('Back', on_click=lambda: self.move(-1)).props('flat').mark('back-review')
        self.update_progress()
        if start == questionnaire.REVIEW_STEP:
            self.show_review()

    # ------------------------------------------------------------------------- steps and fields

    def build_section(self, section: dict[str, Any], *, first: bool) -> None:
        with ui.step(section['key'], title=section['title']):
            if section.get('help'):
                ui.label(section['help']).classes('text-grey-8')
            with ui.column().classes('w-full max-w-xl gap-3'):
                for field in section['fields']:
                    self.build_field(field)
            with ui.stepper_navigation():
                ui.button('Next', icon='arrow_forward', on_click=lambda s=section: self.next(s)) \
                    .mark(f'next-{section["key"]}')
                if not first:
                    ui.button('Back', on_click=lambda: self.move(-1)).props('flat').mark(f'back-{section["key"]}')

    def build_field(self, field: dict[str, Any]) -> None:
        key, kind = field['key'], field['type']
        label = field['label'] + (' *' if field['required'] else '')
        value = self.answers.get(key)
        with ui.column().classes('w-full gap-1'):
            if kind == 'file':
                self.build_upload(field, label)
            else:
                self.inputs[key] = _widget(kind, label, value, field['options']).mark(f'field-{key}')
            if field.get('help'):
                ui.label(field['help']).classes('text-xs text-grey-7')
            error = ui.label().classes('text-negative text-sm').mark(f'error-{key}')
            error.set_visibility(False)
            self.errors[key] = error

    def build_upload(self, field: dict[str, Any], label: str) -> None:
        key = field['key']
        ui.label(label).classes('text-sm text-grey-9')
        ui.upload(on_upload=lambda e, k=key: self.upload(e, k), auto_upload=True, multiple=True,
                  max_file_size=self.upload_max_bytes) \
            .props('accept=".pdf,.png,.jpg,.jpeg" flat bordered').classes('w-full').mark(f'field-{key}')
        self.file_lists[key] = ui.column().classes('gap-1').mark(f'files-{key}')
        self.show_files(key)

    def show_files(self, key: str) -> None:
        box = self.file_lists[key]
        box.clear()
        with box:
            for item in (f for f in self.files if f.field_key == key):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.label(item.file_name)
                    ui.button(icon='delete', on_click=lambda i=item: self.remove_file(i)) \
                        .props('flat round dense aria-label="Remove file"')

    # ------------------------------------------------------------------------- events

    async def next(self, section: dict[str, Any]) -> None:
        answers = {f['key']: self.inputs[f['key']].value for f in section['fields'] if f['key'] in self.inputs}
        try:
            errors = await guard.call(registration.save_section, token=self.token, section_key=section['key'],
                                      answers=answers)
        except NotAvailable as error:
            return self.gone(str(error))
        for field in section['fields']:
            self.set_error(field['key'], errors.get(field['key']))
        if errors:
            ui.notify('Please correct the answers marked in red.', type='negative')
            return
        self.answers.update(answers)
        self.move(1)
        if self.stepper.value == questionnaire.REVIEW_STEP:
            try:  # review what was stored (cleaned), not what was typed
                self.answers = (await guard.call(registration.wizard_state, token=self.token)).answers
            except NotAvailable as error:
                return self.gone(str(error))
            self.show_review()

    def move(self, offset: int) -> None:
        """Go to the next or previous step (set on the server, so the stepper's value is the truth)."""
        keys = [s['key'] for s in self.sections] + [questionnaire.REVIEW_STEP]
        index = keys.index(self.stepper.value) + offset
        self.stepper.value = keys[max(0, min(index, len(keys) - 1))]

    async def upload(self, event: UploadEventArguments, key: str) -> None:
        data = await event.file.read()
        try:
            item = await guard.call(registration.add_file, token=self.token, field_key=key, data=data,
                                    file_name=event.file.name)
        except NotAvailable as error:
            return self.gone(str(error))
        except PortalError as error:
            self.set_error(key, str(error))
            ui.notify(str(error), type='negative')
            return
        self.set_error(key, None)
        self.files.append(item)
        self.show_files(key)

    async def remove_file(self, item: registration.UploadedFile) -> None:
        try:
            await guard.call(registration.remove_file, token=self.token, file_id=item.id)
        except NotAvailable as error:
            return self.gone(str(error))
        self.files = [f for f in self.files if f.id != item.id]
        self.show_files(item.field_key)

    async def submit(self) -> None:
        try:
            reference = await guard.call(registration.submit, token=self.token, ip_address=guard.client_ip())
        except NotAvailable as error:
            return self.gone(str(error))
        except PortalError as error:
            ui.notify(str(error), type='negative', multi_line=True)
            return
        self.content.clear()
        with self.content, ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3').mark('registration-done'):
            ui.label('Thank you').classes('text-2xl font-bold')
            ui.label('The clinic received the registration and will review it. '
                     'We also sent you an email with the reference number.')
            with ui.row().classes('items-baseline gap-2'):
                ui.label('Reference number:')
                ui.label(reference).classes('text-xl font-mono font-bold').mark('reference')
            ui.link('Back to the sign-in page', '/login').mark('to-sign-in')

    # ------------------------------------------------------------------------- display

    def set_error(self, key: str, message: str | None) -> None:
        if key in self.errors:
            self.errors[key].text = message or ''
            self.errors[key].set_visibility(bool(message))

    def update_progress(self) -> None:
        keys = [s['key'] for s in self.sections]
        titles = [s['title'] for s in self.sections] + ['Review and submit']
        current = self.stepper.value
        index = keys.index(current) if current in keys else len(keys)
        self.progress.value = round(index / len(titles), 3)
        self.progress_label.text = f'Step {index + 1} of {len(titles)}: {titles[index]}'

    def show_review(self) -> None:
        self.review_box.clear()
        with self.review_box:
            ui.label('Please check your answers. Use Back to change something.').classes('text-grey-8')
            for section in self.sections:
                with ui.card().classes('w-full').props('flat bordered'):
                    ui.label(section['title']).classes('font-bold')
                    for field in section['fields']:
                        with ui.row().classes('w-full gap-2'):
                            ui.label(f'{field["label"]}:').classes('text-grey-8 min-w-40')
                            ui.label(self.review_value(field)).classes('whitespace-pre-wrap') \
                                .mark(f'review-{field["key"]}')

    def review_value(self, field: dict[str, Any]) -> str:
        if field['type'] == 'file':
            names = [f.file_name for f in self.files if f.field_key == field['key']]
            return ', '.join(names) or '—'
        return questionnaire.display(field, self.answers.get(field['key']))

    def gone(self, message: str) -> None:
        self.content.clear()
        with self.content:
            link_gone(message)


def _widget(kind: str, label: str, value: Any, options: list[str]) -> ui.element:
    """The input element for one question type."""
    if kind == 'long_text':
        return ui.textarea(label, value=value or '').props('outlined autogrow').classes('w-full')
    if kind == 'date':
        return ui.input(label, value=value or '').props('outlined type=date stack-label').classes('w-64')
    if kind == 'choice':
        return ui.select(options, label=label, value=value if value in options else None, clearable=True) \
            .props('outlined').classes('w-full')
    if kind == 'multi_choice':
        chosen = [v for v in (value or []) if v in options]
        return ui.select(options, label=label, value=chosen, multiple=True).props('outlined use-chips').classes('w-full')
    if kind == 'yes_no':
        with ui.column().classes('gap-0'):
            ui.label(label).classes('text-sm text-grey-9')
            return ui.radio(questionnaire.YES_NO, value=value if value in questionnaire.YES_NO else None) \
                .props('inline')
    props = {'email': 'outlined type=email', 'phone': 'outlined type=tel'}.get(kind, 'outlined')
    return ui.input(label, value=value or '').props(props).classes('w-full')
