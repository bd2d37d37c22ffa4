"""The questionnaire editor (`/admin/questionnaire`): sections and fields, order, save (checked) and reset."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from services import questionnaire

from .. import access, actions
from ..frame import heading
from ..portal import Page, portal_page


@portal_page('/admin/questionnaire', roles=access.ADMIN, title='Questionnaire')
async def questionnaire_page(page: Page) -> None:
    """Edit the New Registration questionnaire; the next wizard asks what is saved here."""
    definition = await access.call(questionnaire.current_definition)
    Editor(definition).build()


class Editor:
    """One admin's working copy of the questionnaire (kept in this page only until saved)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition

    def build(self) -> None:
        heading('New registration questionnaire').classes('text-2xl font-bold')
        ui.label('Each section is one step of the wizard. Changes apply to registrations started after you save. '
                 'The fields first_name and last_name name the new chart and must stay.').classes('text-grey-8')
        ui.input('Questionnaire title').bind_value(self.definition, 'title').props('outlined').classes('w-96') \
            .mark('title')
        self.sections = ui.column().classes('w-full gap-4')
        self.render()
        with ui.row().classes('gap-2'):
            ui.button('Add section', icon='add', on_click=self.add_section).props('outline').mark('add-section')
            save = ui.button('Save', icon='save').mark('save')
            ui.button('Reset to default', icon='restart_alt', on_click=self.confirm_reset) \
                .props('flat color=negative').mark('reset')
        self.message = actions.Message('editor-error')
        save.on_click(actions.Action(self.save, triggers=[save], message=self.message))

    def render(self) -> None:
        self.sections.clear()
        with self.sections:
            for s_index, section in enumerate(self.definition['sections']):
                self.render_section(s_index, section)

    def render_section(self, s_index: int, section: dict[str, Any]) -> None:
        sections = self.definition['sections']
        with ui.card().classes('w-full gap-2').props('bordered'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.input('Section title').bind_value(section, 'title').props('outlined dense') \
                    .classes('flex-grow').mark(f'section-title-{s_index}')
                ui.label(f'key: {section["key"]}').classes('text-xs text-grey-7')
                _order_buttons(sections, s_index, self.render, f'section {s_index}')
            ui.input('Section help').bind_value(section, 'help').props('outlined dense').classes('w-full')
            for f_index, field in enumerate(section['fields']):
                self.render_field(section, s_index, f_index, field)
            ui.button('Add field', icon='add', on_click=lambda s=section: self.add_field(s)) \
                .props('flat dense').mark(f'add-field-{s_index}')

    def render_field(self, section: dict[str, Any], s_index: int, f_index: int, field: dict[str, Any]) -> None:
        field.setdefault('options', [])
        field.setdefault('help', '')
        mark = f'{s_index}-{f_index}'
        with ui.row().classes('w-full items-start gap-2 border-t pt-2'):
            ui.input('Label').bind_value(field, 'label').props('outlined dense').classes('w-56') \
                .mark(f'field-label-{mark}').on_value_change(lambda e, f=field: self.label_changed(f, e.value))
            ui.input('Key').bind_value(field, 'key').props('outlined dense').classes('w-40').mark(f'field-key-{mark}')
            ui.select(questionnaire.TYPES, label='Type').bind_value(field, 'type').props('outlined dense') \
                .classes('w-40').mark(f'field-type-{mark}')
            ui.checkbox('Required').bind_value(field, 'required').mark(f'field-required-{mark}')
            ui.input('Help text').bind_value(field, 'help').props('outlined dense').classes('w-56')
            ui.input_chips('Options (choices)').bind_value(field, 'options') \
                .bind_visibility_from(field, 'type', backward=lambda t: t in ('choice', 'multi_choice')) \
                .props('outlined dense').classes('w-64').mark(f'field-options-{mark}')
            ui.checkbox('Not in the future').bind_value(field, 'not_future') \
                .bind_visibility_from(field, 'type', backward=lambda t: t == 'date')
            ui.space()
            _order_buttons(section['fields'], f_index, self.render, f'field {mark}')

    def label_changed(self, field: dict[str, Any], label: str) -> None:
        """A field added in this editor takes its key from its label until saved."""
        if field.get('_new'):
            field['key'] = questionnaire.key_from_label(label or 'field', self.keys() - {field['key']})

    def keys(self) -> set[str]:
        return {f['key'] for s in self.definition['sections'] for f in s['fields']}

    def add_field(self, section: dict[str, Any]) -> None:
        section['fields'].append({'key': questionnaire.key_from_label('new question', self.keys()),
                                  'label': 'New question', 'type': 'text', 'required': False, 'help': '',
                                  'options': [], '_new': True})
        self.render()

    def add_section(self) -> None:
        taken = {s['key'] for s in self.definition['sections']}
        key = questionnaire.key_from_label('section', taken | {questionnaire.REVIEW_STEP})
        self.definition['sections'].append({'key': key, 'title': 'New section', 'help': '', 'fields': [
            {'key': questionnaire.key_from_label('new question', self.keys()), 'label': 'New question',
             'type': 'text', 'required': False, 'help': '', 'options': [], '_new': True}]})
        self.render()

    async def save(self, act: actions.Act) -> None:
        cleaned = await act.call(questionnaire.save_definition, definition=self.definition)
        self.definition.clear()
        self.definition.update(cleaned)
        self.render()
        act.done('Questionnaire saved. New registrations ask it from now on.')

    def confirm_reset(self) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label('Replace the questionnaire with the default one? Your changes are lost.')
            with ui.row():
                reset = ui.button('Reset').props('color=negative').mark('reset-confirm')
                ui.button('Cancel', on_click=dialog.close).props('flat')
        reset.on_click(actions.Action(lambda act: self.reset(act, dialog), triggers=[reset], message=self.message))
        dialog.open()

    async def reset(self, act: actions.Act, dialog: ui.dialog) -> None:
        dialog.close()  # what happens next shows on the page
        default = await act.call(questionnaire.reset_definition)
        self.definition.clear()
        self.definition.update(default)
        self.render()
        act.done('The default questionnaire applies again.')


def _order_buttons(items: list[Any], index: int, rerender, what: str) -> None:
    """Up, down and remove for one item of a list (sections or fields)."""
    def move(offset: int) -> None:
        target = index + offset
        if 0 <= target < len(items):
            items[index], items[target] = items[target], items[index]
            rerender()

    def remove() -> None:
        items.pop(index)
        rerender()

    for icon, label, mark, handler in (('arrow_upward', f'Move {what} up', 'up', lambda: move(-1)),
                                       ('arrow_downward', f'Move {what} down', 'down', lambda: move(1)),
                                       ('delete', f'Remove {what}', 'remove', remove)):
        button = ui.button(icon=icon, on_click=handler).props('flat round dense') \
            .mark(f'{mark}-{what.replace(" ", "-")}')
        button.props['aria-label'] = label
