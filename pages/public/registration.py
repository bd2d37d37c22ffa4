"""New Registration: `/registration/start` signs the contact out and opens the wizard `/registration/{token}`.

The wizard is a `ui.stepper`: one section of the questionnaire a step, then a review step and the submit.
Every Next checks the step on the server and keeps the answers in the token's draft, so a reload loses nothing.
"""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from nicegui import ui

from services import questionnaire, registration
from services.errors import NotAvailable

from .. import access, actions, frame
from ..frame import heading
from ..portal import Page, portal_page

T = TypeVar('T')


@portal_page('/registration/start', roles=access.CONTACT, title='New registration')
async def start_page(page: Page) -> None:
    """Explain, then start on the contact's click: opening this address changes nothing by itself (a link
    from another site must not sign anyone out)."""
    with ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3'):
        heading('New registration').classes('text-2xl font-bold')
        ui.label('You will be signed out to register a new person.').classes('text-grey-8')
        actions.button('Sign out and register', start_registration, message=actions.Message('registration-start-error')) \
            .mark('registration-confirm')
        ui.link('Back to the message list', '/').mark('to-messages')


async def start_registration(act: actions.Act) -> None:
    """Issue the registration token, sign the contact out, open the wizard (the NEW REGISTRATION action)."""
    token = await act.call(registration.start)
    await access.end_session()
    act.done(navigate=f'/registration/{token}')


@portal_page('/registration/{token}', roles=access.PUBLIC, title='New registration')
async def wizard_page(page: Page, token: str) -> None:
    """The questionnaire wizard behind a registration token (no sign-in: the token is the pass)."""
    content = ui.column().classes('w-full gap-4')
    try:
        state = await access.call(registration.wizard_state, token=token)
    except NotAvailable as error:
        with content:
            link_gone(str(error))
        return
    page.title(state.definition.get('title') or 'New registration')
    with content:
        Wizard(token, state, content).build()


def link_gone(message: str) -> None:
    """The clear message for an unknown, used or expired registration link."""
    with ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3'):
        heading('New registration').classes('text-2xl font-bold')
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
        self.errors: dict[str, actions.Message] = {}
        self.file_lists: dict[str, ui.column] = {}

    def build(self) -> None:
        heading(self.definition.get('title') or 'New registration').classes('text-2xl font-bold')
        ui.label('You were signed out of the portal. Answer the questions step by step; fields marked * are '
                 f'required. Your answers are kept until {self.expires_at:%H:%M} UTC.').classes('text-grey-8')
        self.progress_label = ui.label().classes('text-sm font-medium').mark('progress-label')
        self.progress_label.props['aria-live'] = 'polite'  # "Step 2 of 6: Contact details" is read out
        self.progress = ui.linear_progress(value=0, show_value=False).props('rounded size=8px').mark('progress')
        self.progress.props['aria-label'] = 'Questionnaire progress'
        keys = [s['key'] for s in self.sections] + [questionnaire.REVIEW_STEP]
        start = self.step if self.step in keys else keys[0]
        with ui.stepper(value=start, on_value_change=self.update_progress).props('vertical animated') \
                .classes('w-full').mark('stepper') as self.stepper:
            for number, section in enumerate(self.sections):
                self.build_section(section, first=number == 0)
            with ui.step(questionnaire.REVIEW_STEP, title='Review and submit'):
                self.review_box = ui.column().classes('w-full gap-3').mark('review')
                with ui.stepper_navigation():
                    actions.button('Submit registration', self.submit, icon='send').mark('submit')
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
                actions.button('Next', lambda act, s=section: self.next(act, s), icon='arrow_forward') \
                    .mark(f'next-{section["key"]}')
                if not first:
                    ui.button('Back', on_click=lambda: self.move(-1)).props('flat').mark(f'back-{section["key"]}')

    def build_field(self, field: dict[str, Any]) -> None:
        key, kind = field['key'], field['type']
        label = field['label'] + (' *' if field['required'] else '')
        value = self.answers.get(key)
        with ui.column().classes('w-full gap-1'):
            upload = self.build_upload(key, label) if kind == 'file' else None
            if upload is None:
                self.inputs[key] = _widget(kind, label, value, field['options']).mark(f'field-{key}')
            if field.get('help'):
                ui.label(field['help']).classes('text-xs text-grey-7')
            self.errors[key] = actions.Message(f'error-{key}')
            if upload is None:
                self.errors[key].describe(self.inputs[key])
        if upload is not None:  # an upload's problems show on the field's line
            upload.on_upload(actions.Action(lambda act: self.upload(act, key), message=self.errors[key], queue=True))
            self.show_files(key)

    def build_upload(self, key: str, label: str) -> ui.upload:
        ui.label(label).classes('text-sm text-grey-9')
        upload = ui.upload(auto_upload=True, multiple=True, max_file_size=self.upload_max_bytes) \
            .props('accept=".pdf,.png,.jpg,.jpeg" flat bordered').classes('w-full').mark(f'field-{key}')
        self.file_lists[key] = ui.column().classes('gap-1').mark(f'files-{key}')
        return upload

    def show_files(self, key: str) -> None:
        box = self.file_lists[key]
        box.clear()
        with box:
            for item in (f for f in self.files if f.field_key == key):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.label(item.file_name)
                    remove = ui.button(icon='delete').props('flat round dense aria-label="Remove file"')
                    remove.on_click(actions.Action(lambda act, i=item: self.remove_file(act, i), triggers=[remove],
                                                   message=self.errors[key]))

    # ------------------------------------------------------------------------- events

    async def next(self, act: actions.Act, section: dict[str, Any]) -> None:
        answers = {f['key']: self.inputs[f['key']].value for f in section['fields'] if f['key'] in self.inputs}
        errors = await self.on_draft(act.call(registration.save_section, token=self.token,
                                              section_key=section['key'], answers=answers))
        for field in section['fields']:
            self.set_error(field['key'], errors.get(field['key']))
        if errors:
            # not act.fail: the call went through (and stored nothing), so the next try is a new submit
            act.message.error('Please correct the answers marked in red.')
            return
        self.answers.update(answers)
        self.move(1)
        if self.stepper.value == questionnaire.REVIEW_STEP:  # review what was stored (cleaned), not what was typed
            self.answers = (await self.on_draft(act.read(registration.wizard_state, token=self.token))).answers
            self.show_review()

    def move(self, offset: int) -> None:
        """Go to the next or previous step (set on the server, so the stepper's value is the truth)."""
        keys = [s['key'] for s in self.sections] + [questionnaire.REVIEW_STEP]
        index = keys.index(self.stepper.value) + offset
        self.stepper.value = keys[max(0, min(index, len(keys) - 1))]
        frame.focus_step(self.stepper)

    async def upload(self, act: actions.Act, key: str) -> None:
        data = await act.event.file.read()
        item = await self.on_draft(act.call(registration.add_file, token=self.token, field_key=key, data=data,
                                            file_name=act.event.file.name))
        self.files.append(item)
        self.show_files(key)

    async def remove_file(self, act: actions.Act, item: registration.UploadedFile) -> None:
        await self.on_draft(act.call(registration.remove_file, token=self.token, file_id=item.id))
        self.files = [f for f in self.files if f.id != item.id]
        self.show_files(item.field_key)

    async def submit(self, act: actions.Act) -> None:
        reference = await self.on_draft(act.call(registration.submit, token=self.token,
                                                 ip_address=access.client_ip()))
        self.content.clear()
        with self.content, ui.card().classes('w-full max-w-xl mx-auto p-6 gap-3').mark('registration-done'):
            heading('Thank you').classes('text-2xl font-bold')
            ui.label('The clinic received the registration and will review it. '
                     'We also sent you an email with the reference number.')
            with ui.row().classes('items-baseline gap-2'):
                ui.label('Reference number:')
                ui.label(reference).classes('text-xl font-mono font-bold').mark('reference')
            ui.link('Back to the sign-in page', '/login').mark('to-sign-in')

    async def on_draft(self, pending: Awaitable[T]) -> T:
        """The result of a call on the draft; a link that expired or was used meanwhile replaces the wizard."""
        try:
            return await pending
        except NotAvailable as error:
            self.gone(str(error))
            raise actions.Stop() from None

    # ------------------------------------------------------------------------- display

    def set_error(self, key: str, message: str | None) -> None:
        if key not in self.errors:
            return
        if message:
            self.errors[key].error(message)
        else:
            self.errors[key].clear()

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
