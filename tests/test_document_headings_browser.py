"""A document with its own h1 keeps the page's one h1: its headings move one level down (services/sanitize.py
`clean_document`) in the contact's viewer and in the staff viewer, and axe's heading rules pass on both."""
from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By

from models import Share
from services import db
from services.sanitize import clean_document
from tests import factories
from tests.browser import sign_in_as, wait_for
from tests.test_accessibility import AXE_SCRIPT, TAGS

pytestmark = pytest.mark.browser
STAFF, CONTACT = 'headings-staff@clinic.test', 'headings-contact@outside.test'
BODY = ('<h1>Fitness for duty</h1><p>Summary.</p><h2>Restrictions</h2><ul><li>No ladders</li></ul>'
        '<h3>Until</h3><p>Review in two weeks.</p>')
# the headings inside the page's main region, in order, as (level, text)
HEADINGS = '''
return [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => [Number(h.tagName[1]), h.innerText.trim()]);
'''
# WCAG rules and the best-practice heading rules (one h1, no skipped level, no empty heading)
HEADING_RULES = ['page-has-heading-one', 'heading-order', 'empty-heading']


def test_headings_move_one_level_down_only_when_the_document_has_an_h1() -> None:
    assert clean_document(BODY + '<h5>Note</h5><h6>Footnote</h6>') == (
        '<h2>Fitness for duty</h2><p>Summary.</p><h3>Restrictions</h3><ul><li>No ladders</li></ul><h4>Until</h4>'
        '<p>Review in two weeks.</p><h6>Note</h6><h6>Footnote</h6>')  # h6 stays h6
    assert clean_document('<h2>Plan</h2><h3>Steps</h3>') == '<h2>Plan</h2><h3>Steps</h3>'  # already fits under h1
    assert clean_document(clean_document(BODY)) == clean_document(BODY)  # shown twice, moved once
    assert clean_document('<h1 onclick="x()">A</h1><p>&lt;h1&gt;</p>') == '<h2>A</h2><p>&lt;h1&gt;</p>'


def _seed(session, viewer: str) -> dict[str, int]:
    staff = factories.account(session, role='staff', email=f'{viewer}-{STAFF}', name='Heading Nurse')
    contact = factories.contact(session, email=f'{viewer}-{CONTACT}', first='Hedda', last='Reader')
    factories.contact_account(session, contact)
    result = factories.share(session, contact_row=contact, sender=staff, title='Work status letter', body_html=BODY)
    return {'share': result.share_id, 'document': session.get(Share, result.share_id).source_document_id}


def _axe(browser) -> list[dict]:
    from axe_selenium_python import Axe
    axe = Axe(browser, script_url=str(AXE_SCRIPT))
    if not browser.execute_script('return !!window.axe'):
        axe.inject()
    found = []
    for only in ({'type': 'tag', 'values': TAGS}, {'type': 'rule', 'values': HEADING_RULES}):
        found += axe.run(options=json.dumps({'runOnly': only, 'resultTypes': ['violations']}))['violations']
    return found


@pytest.mark.parametrize('viewer', ['contact', 'staff'])
def test_a_document_with_an_h1_leaves_one_h1_on_the_viewer(viewer, shared_portal, browser) -> None:
    with db.transaction() as session:
        ids = _seed(session, viewer)
    if viewer == 'contact':
        sign_in_as(browser, shared_portal.url, f'{viewer}-{CONTACT}')
        browser.get(f'{shared_portal.url}/message/{ids["share"]}')
    else:
        sign_in_as(browser, shared_portal.url, f'{viewer}-{STAFF}')
        browser.get(f'{shared_portal.url}/staff/document/{ids["document"]}')
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.portal-doc h2'))
    headings = [tuple(h) for h in browser.execute_script(HEADINGS)]
    assert [h for h in headings if h[0] == 1] == [(1, 'Work status letter')]
    document = headings[headings.index((2, 'Fitness for duty')):]
    assert document[:3] == [(2, 'Fitness for duty'), (3, 'Restrictions'), (4, 'Until')]
    violations = _axe(browser)
    assert violations == [], [(v['id'], [n['html'][:100] for n in v['nodes'][:3]]) for v in violations]
