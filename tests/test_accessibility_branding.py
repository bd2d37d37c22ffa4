"""The admin's primary colour must keep text readable (WCAG 2.2 AA, 4.5:1): a too-light one is refused, with why."""
from __future__ import annotations

import pytest
from nicegui.testing import User

from services import settings as settings_service
from services.errors import InvalidInput
from services.settings_admin import clean_values, color_contrast_problem, contrast_ratio
from tests.admin_portal import click, see
from tests.test_admin_settings import audit_events, open_settings, set_value


def test_contrast_ratio_follows_wcag() -> None:
    assert round(contrast_ratio('#000000', '#ffffff'), 1) == 21.0
    assert round(contrast_ratio('#3b82f6', '#ffffff'), 2) == 3.68  # Tailwind's blue-500: the link colour axe flagged
    assert color_contrast_problem('#1f5f8b') is None  # the shipped default
    assert color_contrast_problem('#21ba45') is not None  # Quasar's positive green, 2.6:1


def test_a_light_primary_color_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_values({'primary_color': '#ffd700'})
    assert 'Primary color' in str(refused.value) and '4.5:1' in str(refused.value) and 'darker' in str(refused.value)
    assert clean_values({'primary_color': '#1F5F8B'}) == {'primary_color': '#1f5f8b'}


async def test_the_settings_page_says_why_and_saves_nothing(user: User) -> None:
    await open_settings(user)
    set_value(user, 'primary_color', '#f2c037')  # Quasar's warning yellow, 1.6:1
    await see(user, marker='color-contrast')  # said next to the colour, before saving
    await see(user, 'too light')
    await click(user, 'save-branding')
    await see(user, 'Choose a darker color.')
    assert settings_service.get_settings().primary_color == '#1f5f8b'
    assert audit_events() == []
    set_value(user, 'primary_color', '#7a2e00')
    await user.should_not_see(marker='color-contrast')
