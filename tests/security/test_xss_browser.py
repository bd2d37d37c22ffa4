"""Stored XSS (issue 12, item 2): a corpus of hostile strings, written through the real services into every text
setting an admin saves and every name field staff, contacts and registrations fill in, never runs in Chromium
on the pages that show them.

Each payload sets `window.__xss` to its number (or calls `alert(number)`, or posts `xss:number` from a frame)
if it ever runs as script: as HTML, as a Vue template, as a Quasar/NiceGUI prop binding (`:name`, `@event`), or
through a quote or backslash that breaks out of a props string. A detector installed into every document
before any page script (Chrome DevTools `Page.addScriptToEvaluateOnNewDocument`) records such a run in the page
and in localStorage (so a late run is caught on the next page too). Every page is also hovered and focused
element by element (mouseover/focus handlers), and each check first waits until the payloads are really on the
page, so a page that quietly shows nothing cannot pass.

One portal serves the module; the settings payloads are rotated (all text settings = payload i, then /login and
a signed-in page), the records carry all payloads at once and tables are paged through.
"""
from __future__ import annotations

import ast
import base64
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from sqlmodel import select

from models import Account, Contact, Registration, Reply
from services import (accounts_admin, auth, branding, charts, contact_accounts, contacts, db, documents,
                      registration, replies, settings, settings_admin, sharing)
from services.errors import PortalError
from tests import factories
from tests.browser import wait_for

pytestmark = pytest.mark.browser


# ----------------------------------------------------------------------------- the corpus

def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Payload n (1-based) sets window.__xss = n when it runs. At most 100 characters each (every name field takes
# that many); most fit a footer link label (60).
PAYLOADS: list[str] = [
    # HTML with script and event handlers
    '<script>window.__xss=1</script>',
    '<img src=x onerror=window.__xss=2>',
    '<img src="x" onerror="window.__xss=3">',
    '<svg onload=window.__xss=4>',
    '<svg><script>window.__xss=5</script></svg>',
    '<iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
    '<iframe src="javascript:parent.__xss=7"></iframe>',
    '<details open ontoggle=window.__xss=8>',
    '<body onload=window.__xss=9>',
    '<input autofocus onfocus=window.__xss=10>',
    '<video><source onerror=window.__xss=11></video>',
    '<svg><animate onbegin=window.__xss=12 attributeName=x dur=1s>',
    '<marquee onstart=window.__xss=13>x</marquee>',
    f'<img src=x onerror=eval(atob("{_b64("window.__xss=14")}"))>',
    '<img src=x onerror=alert(15)>',
    '<img src=x onerror=&#119;indow.__xss=16>',
    '<img src=x onerror=window.__xss=17',
    '<<img src=x onerror=window.__xss=18>>',
    # URLs: javascript: and data:
    'javascript:window.__xss=19',
    'data:text/html,<script>parent.postMessage("xss:20","*")</script>',
    'data:text/html;base64,' + _b64('<script>parent.postMessage("xss:21","*")</script>'),
    '<a href="javascript:window.__xss=22">click me</a>',
    '<object data="javascript:window.__xss=23"></object>',
    '<embed src="data:text/html,<script>parent.postMessage(\'xss:24\',\'*\')</script>">',
    '<form><button formaction=javascript:window.__xss=25>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=26">',
    # Vue templates
    '{{ constructor.constructor("window.__xss=27")() }}',
    "{{ _openBlock.constructor('window.__xss=28')() }}",
    '{{ $el.ownerDocument.defaultView.__xss=29 }}',
    '{{ (window.__xss=30) }}',
    '<div v-html="\'<img src=x onerror=window.__xss=31>\'"></div>',
    '<q-btn @click="window.__xss=32" label="x" />',
    # Vue/Quasar prop names on their own
    ':title="window.__xss=33"',
    '@click="window.__xss=34"',
    'v-html="\'<img src=x onerror=window.__xss=35>\'"',
    ':class="window.__xss=36"',
    'v-on:mouseover="window.__xss=37"',
    ':alt=(window.__xss=38)',
    # quote and backslash breakouts of a props string (the reported bug: `alt="{value}"`)
    'x" :data-x="(window.__xss=39)',
    r'x\" :data-x=\"(window.__xss=40)',
    r'x\\" :data-x="(window.__xss=41)',
    r'x\" :data-x="(window.__xss=42)" y=\"',
    r'\\" @mouseover="window.__xss=43',
    '" :alt="window.__xss=44" x="',
    "x' :data-x='(window.__xss=45)",
    'x :data-x=(window.__xss=46)',
    '" onmouseover="window.__xss=47',
    "' onmouseover='window.__xss=48",
    '"><img src=x onerror=window.__xss=49>',
    "'><svg onload=window.__xss=50>",
    '</title><script>window.__xss=51</script>',
    '</textarea><script>window.__xss=52</script>',
    # JavaScript string and template-literal breakouts
    '"; window.__xss=53; "',
    "'; window.__xss=54; '",
    r'\"; window.__xss=55; //',
    '${window.__xss=56}',
    '`${window.__xss=57}`',
    '`;window.__xss=58;`',
    # escapes a careless decoder would turn back into markup
    r'\u003cimg src=x onerror=window.__xss=59\u003e',
    r'\x3cscript\x3ewindow.__xss=60\x3c/script\x3e',
    '&lt;img src=x onerror=window.__xss=61&gt;',
    '&#60;img src=x onerror=window.__xss=62&#62;',
    '%3Cimg src=x onerror=window.__xss=63%3E',
    '\uff1cscript\uff1ewindow.__xss=64\uff1c/script\uff1e',
    # CSS
    '<div style="width:expression(window.__xss=65)">x</div>',
    '<div style="background:url(javascript:window.__xss=66)">x</div>',
    '<style>*{background:url("javascript:window.__xss=67")}</style>',
    # markdown-ish
    '[x](javascript:window.__xss=68)',
    '![x](x" onerror="window.__xss=69)',
    # parser differentials (mXSS) and a polyglot
    '<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=70>',
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=71>">',
    'javascript:/*--></title></style></textarea></script><svg/onload=window.__xss=72//',
]
SHORT = 60  # a footer link label's limit
# the payloads that ran when pages/frame.py built the logo's props as `alt="{value}"`: these also open the pages that
# show one setting or one record at a time (every payload is on /login, /terms and the lists and tables)
DETAIL = [n - 1 for n in (39, 40, 41, 42, 44, 47)]
ADMIN_PREVIEW = [n - 1 for n in (1, 2, 27, 33, 45, 64)]  # and the admin's branding preview with these


def _names_itself(payload: str, n: int) -> bool:
    """Whether payload n would report n (directly, or inside the base64 it decodes)."""
    if any(f'{how}{n}' in payload for how in ('__xss=', 'alert(', 'xss:')):
        return True
    encoded = re.findall(r'[A-Za-z0-9+/]{16,}={0,2}', payload)
    return any(_names_itself(base64.b64decode(e).decode(errors='ignore'), n) for e in encoded)


def test_the_corpus_is_large_and_each_payload_names_itself() -> None:
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    for n, payload in enumerate(PAYLOADS, start=1):
        assert _names_itself(payload, n), payload
        assert len(payload) <= 100 and payload == payload.strip(), payload
    assert sum(len(p) <= SHORT for p in PAYLOADS) >= 50


# ----------------------------------------------------------------------------- no props built from values

PAGES = Path(__file__).resolve().parents[2] / 'pages'
# calls whose string NiceGUI parses as code or markup: a value must never be pasted into it
PARSED = {'props', 'run_javascript', 'add_head_html', 'add_body_html'}


def _constant(node: ast.AST | None) -> bool:
    """A string the code itself wrote: a literal, a pick from a dict of literals (`{...}.get(key, 'x')`), or the
    tag of one of the portal's own files named by a literal (`static_assets.tag('portal.js')`: the name and the
    file's hash)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Call) and ast.unparse(node.func) == 'static_assets.tag':
        return len(node.args) == 1 and not node.keywords and _constant(node.args[0])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'get' \
            and isinstance(node.func.value, ast.Dict) and len(node.args) == 2:
        return all(_constant(v) for v in node.func.value.values) and _constant(node.args[1])
    return False


def test_no_value_reaches_a_props_string_in_pages() -> None:
    """`.props()` (and JavaScript or head/body HTML) only ever get strings the code wrote; values go in as data:
    `element.props['alt'] = value`, or the element's own parameters."""
    built = []
    for path in sorted(PAGES.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PARSED:
                # (run_javascript's timeout is a number of seconds, never parsed)
                for arg in [*node.args, *(k.value for k in node.keywords if k.arg != 'timeout')]:
                    fine = _constant(arg) or (isinstance(arg, ast.Name) and arg.id in assigned
                                              and all(_constant(v) for v in assigned[arg.id]))
                    if not fine:
                        built.append(f'{path.relative_to(PAGES.parent)}:{node.lineno}: .{node.func.attr}('
                                     f'{ast.unparse(arg)})')
    assert not built, 'strings built from values reach NiceGUI\'s parser:\n' + '\n'.join(built)


# ----------------------------------------------------------------------------- the detector

DETECTOR = r'''
(() => {
  if (window.__xss_detector) return;
  const KEY = '__xss_hits';
  const seen = [];
  const record = (what) => {
    const hit = String(what) + ' on ' + location.href + (window.top !== window ? ' (in a frame)' : '');
    seen.push(hit);
    try {
      const all = JSON.parse(localStorage.getItem(KEY) || '[]');
      all.push(hit);
      localStorage.setItem(KEY, JSON.stringify(all));
    } catch (e) {}
    try { if (window.top !== window) window.top.postMessage('xss:' + what, '*'); } catch (e) {}
  };
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return seen.length ? seen.join(' | ') : undefined; },
    set(value) { record('window.__xss=' + value); },
  });
  for (const name of ['alert', 'confirm', 'prompt']) {
    window[name] = (value) => { record(name + '(' + value + ')'); };
  }
  window.addEventListener('message', (event) => {
    if (typeof event.data === 'string' && event.data.startsWith('xss:')) record('message ' + event.data);
  });
  window.__xss_detector = true;
})();
'''
# what ran, and markup that could run later: inline event handlers, script URLs, frames with inline documents
STATE = '''
let stored = null;
try { stored = localStorage.getItem('__xss_hits'); localStorage.removeItem('__xss_hits'); } catch (e) {}
const markup = [];
const urls = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster', 'background'];
for (const el of document.querySelectorAll('*')) {
  for (const attribute of el.attributes) {
    const name = attribute.name.toLowerCase();
    const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
    if (name.startsWith('on') || name === 'srcdoc' || (urls.includes(name) &&
        /^(javascript|vbscript|data:text\\/html)/.test(value))) {
      markup.push('<' + el.tagName.toLowerCase() + ' ' + name + '="' + attribute.value.slice(0, 80) + '">');
    }
  }
}
return {detector: window.__xss_detector === true, xss: window.__xss === undefined ? null : String(window.__xss),
        stored: stored, markup: markup};
'''
# every element gets the events a person's pointer and keyboard would give it; focusable ones are focused
HOVER_ALL = '''
const mouse = ['mouseover', 'mouseenter', 'mousemove', 'pointerover', 'pointerenter'];
for (const el of document.querySelectorAll('body *')) {
  for (const type of mouse) {
    const Kind = type.startsWith('pointer') ? PointerEvent : MouseEvent;
    el.dispatchEvent(new Kind(type, {bubbles: !type.endsWith('enter'), cancelable: true, view: window}));
  }
  el.dispatchEvent(new FocusEvent('focusin', {bubbles: true}));
}
for (const el of document.querySelectorAll('a[href], button, input, textarea, [tabindex]')) {
  try { el.focus({preventScroll: true}); } catch (e) {}
}
if (document.activeElement) document.activeElement.blur();
// the first of each main element that is inside the window, for the real pointer
return arguments[0].map(css => [...document.querySelectorAll(css)].find(el => {
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  return box.width > 0 && box.height > 0 && x >= 0 && y >= 0 && x < innerWidth && y < innerHeight;
})).filter(Boolean);
'''
VISIBLE_TEXT = 'return document.body.innerText + "\\n" + document.title'
# the arguments[0]-th visible table, its pager's label and its rows' text
TABLE = '''
const t = [...document.querySelectorAll('.q-table__container')].filter(e => e.offsetParent !== null)[arguments[0]];
const bottom = () => { const b = t && t.querySelector('.q-table__bottom'); return b ? b.innerText.trim() : ''; };
const rows = () => { const b = t && t.querySelector('tbody'); return b ? b.innerText : ''; };
'''
MAIN_ELEMENTS = ('header', 'header .q-img', 'footer', 'footer a', '.text-2xl', 'main .q-table tbody tr',
                 'main .q-card')


def flat(text: str) -> str:
    return ' '.join(text.split())


@dataclass
class Checker:
    """Opens pages in one Chromium with the detector installed and collects every problem it sees."""

    browser: object
    url: str
    problems: list[str] = field(default_factory=list)
    pages: set[str] = field(default_factory=set)
    checks: int = 0

    def __post_init__(self) -> None:
        self.browser.execute_cdp_cmd('Page.addScriptToEvaluateOnNewDocument', {'source': DETECTOR})

    def as_role(self, token: str | None) -> None:
        """Become the account behind a session token (None: signed out) without a sign-in form."""
        self.browser.delete_all_cookies()
        if token:
            self.browser.add_cookie({'name': 'smp_session', 'value': token, 'path': '/', 'httpOnly': True})

    def open(self, path: str, *, expect: Iterable[str] = (), alt: Iterable[str] = (), where: str = '') -> None:
        """Open `path` and check it: the expected payloads show, then hover and focus everything, then look."""
        self.browser.get(self.url + path)
        self.pages.add(path.split('?')[0])
        self.check(where or path, expect=expect, alt=alt)

    def check(self, where: str, *, expect: Iterable[str] = (), alt: Iterable[str] = ()) -> None:
        self.checks += 1
        missing = self.wait_shown(expect, alt)
        if missing:
            self.problems.append(f'{where}: not shown, so not tested: {missing}')
        self.hover()
        time.sleep(0.02)  # an image's onerror or a frame's load has fired by now (local server)
        self.look(where)

    def wait_shown(self, expect: Iterable[str], alt: Iterable[str]) -> list[str]:
        """What of `expect` (text) and `alt` (an image's alt or aria-label) is not on the page; the text may take a
        moment (tables fill after the page shows), the image's attributes come with the frame."""
        wanted, alt = Counter(flat(e) for e in expect), list(alt)  # a payload expected twice must show twice

        def missing_text(driver) -> list[str]:
            text = flat(driver.execute_script(VISIBLE_TEXT))
            return [e for e, times in wanted.items() if text.count(e) < times]

        try:
            wait_for(self.browser, lambda d: not missing_text(d), timeout=10)
        except WebDriverException:
            pass  # reported below
        alts = self.browser.execute_script(
            'return [...document.querySelectorAll("[alt], [aria-label]")]'
            '.map(e => e.getAttribute("alt") || e.getAttribute("aria-label"))') if alt else []
        return missing_text(self.browser) + [a for a in alt if a not in alts]

    def hover(self) -> None:
        """Scripted pointer and focus events on every element, then a real pointer over the main ones."""
        main = self.browser.execute_script(HOVER_ALL, list(MAIN_ELEMENTS))
        if main:
            pointer = ActionChains(self.browser, duration=0)
            for element in main:
                pointer.move_to_element(element)
            try:
                pointer.perform()
            except WebDriverException:
                pass  # an element moved while a table re-rendered: the scripted events reached it anyway

    def look(self, where: str) -> None:
        state = self.browser.execute_script(STATE)
        if not state['detector']:
            self.problems.append(f'{where}: the detector was not installed')
        if state['xss'] is not None or state['stored']:
            self.problems.append(f'{where}: a payload RAN: {state["xss"] or state["stored"]}')
        if state['markup']:
            self.problems.append(f'{where}: payload markup in the page (it could RUN on a click): {state["markup"]}')

    def table_pages(self, where: str, table: int = 0, expect: Iterable[str] = (), limit: int = 10) -> None:
        """Page through the `table`-th visible table of the page (paged on the server), checking each page;
        every one of `expect` must show on one of the pages."""
        remaining = {flat(e) for e in expect}
        try:
            wait_for(self.browser, lambda d: d.execute_script(TABLE + 'return rows().trim() !== "";', table))
            if self.browser.execute_script(TABLE + 'return / of 0$/.test(bottom());', table):
                # PagedTable race (not a security matter): Quasar's first update:pagination (rowsNumber 0) can reach
                # the server after the first page was loaded and wipe the count; ask the table to load again
                self.browser.execute_script(TABLE + 'getElement(t).$refs.qRef.requestServerInteraction();', table)
                wait_for(self.browser, lambda d: not d.execute_script(TABLE + 'return / of 0$/.test(bottom());', table))
        except WebDriverException:
            self.problems.append(f'{where}: the table stayed empty')
            return
        for number in range(1, limit + 1):
            self.check(f'{where} (table page {number})')  # the rows are in: hover them too
            text = flat(self.browser.execute_script(VISIBLE_TEXT))
            remaining = {e for e in remaining if e not in text}
            if not self._next_page(table):
                break
        if remaining:
            self.problems.append(f'{where}: not shown on any table page, so not tested: {sorted(remaining)}')

    def _next_page(self, table: int) -> bool:
        before = self.browser.execute_script(TABLE + 'return [bottom(), rows()];', table)
        clicked = self.browser.execute_script(TABLE + """
            const next = t && t.querySelector('.q-table__bottom button[aria-label="Next page"]');
            if (!next || next.disabled) return false;
            next.click();
            return true;""", table)
        if clicked:  # the pager's label and the rows both change
            wait_for(self.browser, lambda d: all(a != b for a, b in zip(
                d.execute_script(TABLE + 'return [bottom(), rows()];', table), before)))
        return clicked

    def assert_clean(self) -> None:
        ran = [p for p in self.problems if 'RAN' in p or 'markup' in p]  # first: the test's point
        others = [p for p in self.problems if p not in ran]
        assert not self.problems, (f'{len(ran)} payload run(s) or markup and {len(others)} other problem(s) in '
                                   f'{self.checks} page checks:\n' + '\n'.join(ran + others))


# ----------------------------------------------------------------------------- seeding through the services

def _session_token(session, account_id: int) -> str:
    return auth.create_session(session, account_id=account_id, ip_address='127.0.0.1')


def _actor(session, account_id: int):
    return factories.actor_for(session, session.get(Account, account_id))


@dataclass
class Base:
    """The accounts every test here uses; the logo is uploaded so its alt text is rendered."""

    admin_id: int
    terms_id: int  # a contact account that has not accepted the terms of use yet


def _base(session) -> Base:
    admin = factories.account(session, role='admin', email='admin@clinic.test', name=PAYLOADS[40])
    actor = factories.actor_for(session, admin)
    branding.save_logo(session, data=factories.MINIMAL_PNG, file_name='logo.png', actor=actor)
    settings_admin.save_section(session, section='features', actor=actor,
                                values={'terms_required': True, 'replies_enabled': True,
                                        'registration_enabled': True})
    terms = contacts.add_contact(session, actor=actor, first_name='Terry', last_name=PAYLOADS[2],
                                 email='terms@outside.test', organization=PAYLOADS[3])
    account = factories.contact_account(session, session.get(Contact, terms.id))
    return Base(admin_id=admin.id, terms_id=account.id)


_BASES: dict[str, Base] = {}


def base(portal) -> Base:
    if portal.url not in _BASES:
        _BASES[portal.url] = portal.seed(_base)
        settings.invalidate_cache()
    return _BASES[portal.url]


TEXT_SETTINGS = [('general', 'portal_name'), ('general', 'help_desk_phone'), ('features', 'terms_text'),
                 ('branding', 'logo_alt'), ('branding', 'header_text'), ('branding', 'footer_text'),
                 ('branding', 'footer_links')]


def set_text_settings(session, *, admin_id: int, values: dict[str, str]) -> dict[str, bool]:
    """Save each text setting through the admin settings service; which ones it accepted (a refusal is fine)."""
    actor = _actor(session, admin_id)
    sections = {key: section for section, key in TEXT_SETTINGS}
    accepted = {}
    for key, value in values.items():
        try:
            settings_admin.save_section(session, section=sections[key], values={key: value}, actor=actor)
            accepted[key] = True
        except PortalError:
            accepted[key] = False
    settings.invalidate_cache()
    return accepted


def every_text_setting(payload: str) -> dict[str, str]:
    """Every text setting a visitor sees set to one payload; footer links carry it as a label and, where the
    address rule lets it, inside a same-site path."""
    path = '/' + ''.join(c for c in payload if not c.isspace() and c != '\\').lstrip('/')
    return {'portal_name': payload, 'help_desk_phone': payload, 'terms_text': payload, 'logo_alt': payload,
            'header_text': payload, 'footer_text': payload, 'footer_links': f'{payload} | /login\nPath | {path}'}


# ----------------------------------------------------------------------------- settings, rotated

def test_text_settings_never_run_on_the_pages_that_show_them(shared_portal, browser) -> None:
    """Every text setting = payload i at once; the sign-in page (signed out), the terms page (a contact) and
    the admin settings page with its branding preview show it, and it never runs."""
    ids = base(shared_portal)
    admin = shared_portal.seed(_session_token, account_id=ids.admin_id)
    contact = shared_portal.seed(_session_token, account_id=ids.terms_id)
    checker = Checker(browser, shared_portal.url)
    browser.get(shared_portal.url + '/login')
    refused: dict[str, list[int]] = {}
    started = time.monotonic()
    for n, payload in enumerate(PAYLOADS, start=1):
        accepted = shared_portal.seed(set_text_settings, admin_id=ids.admin_id, values=every_text_setting(payload))
        if not accepted['footer_links']:
            accepted['footer_links'] = shared_portal.seed(
                set_text_settings, admin_id=ids.admin_id, values={'footer_links': f'{payload} | /login'}
            )['footer_links']
        for key, ok in accepted.items():
            if not ok:
                refused.setdefault(key, []).append(n)
        frame = [payload] * (2 + accepted['portal_name'] + accepted['footer_links'])  # name, header, footer, link
        checker.as_role(None)
        checker.open('/login', expect=frame, alt=[payload], where=f'/login with payload {n}')
        checker.as_role(contact)
        checker.open('/terms', expect=frame + [payload], alt=[payload], where=f'/terms with payload {n}')
        if n - 1 in DETAIL + ADMIN_PREVIEW:
            checker.as_role(admin)
            checker.open('/admin/settings', expect=frame * 2, alt=[payload],  # the frame and its preview
                         where=f'/admin/settings with payload {n}')
    print(f'\n{len(PAYLOADS)} payloads in {checker.checks} page checks, {time.monotonic() - started:.0f} s; '
          f'refused by the settings service: {refused}')
    # the length limits refuse some (80 for the portal name, 60 for a link label); a phone number takes none
    assert refused == {'help_desk_phone': list(range(1, len(PAYLOADS) + 1)),
                       'portal_name': [n for n, p in enumerate(PAYLOADS, start=1) if len(p) > 80],
                       'footer_links': [n for n, p in enumerate(PAYLOADS, start=1) if len(p) > SHORT]}
    checker.assert_clean()


# ----------------------------------------------------------------------------- records

N = len(PAYLOADS)
ALL_IN_ONE = '\n'.join(PAYLOADS)  # long texts (terms, a reply, a registration's reason) can carry every payload


def within(payload: str, limit: int) -> str:
    return payload if len(payload) <= limit else ''


@dataclass
class World:
    """Ids and session tokens of the records that carry the payloads."""

    tokens: dict[str, str]
    document_chart: int  # a chart whose documents carry every payload
    sent_document: int  # its document sent to every payload contact (send history), with an HTML body
    text_document: int
    reader_contact: int
    payload_contact: int
    charts: list[int]  # in payload order
    contacts: list[int]  # in payload order
    reader_shares: list[int]  # one per payload chart, in payload order; the first has a reply per payload
    sent_share: int  # the reader's copy of the sent document (HTML body in the viewer)
    replies: list[int]  # the payload contacts' replies, in payload order
    registrations: list[int]  # in payload order
    all_in_one_registration: int


def _staff_and_clinic(session, *, admin_id: int) -> dict:
    """Staff accounts named by the payloads; their charts, documents and contacts, through the services."""
    admin = _actor(session, admin_id)
    # document types are an admin setting: the payloads become types documents can have
    types = list(settings.DEFAULT_DOCUMENT_TYPES) + PAYLOADS
    settings_admin.save_section(session, section='features', values={'document_types': types}, actor=admin)
    settings.invalidate_cache()
    staff = [factories.actor_for(session, session.get(Account, accounts_admin.create_staff_account(
        session, actor=admin, email=f'staff{n}@clinic.test', display_name=p, role='staff').id))
        for n, p in enumerate(PAYLOADS)]
    chart_ids = [charts.save_chart(session, actor=staff[n], first_name=p, last_name=p, employer=p,
                                   external_id=within(p, 64)) for n, p in enumerate(PAYLOADS)]
    document_chart = charts.save_chart(session, actor=staff[0], first_name='Every', last_name=PAYLOADS[38])

    def document(n: int, chart_id: int, **body) -> int:
        p = PAYLOADS[n]
        return documents.create_document(session, actor=staff[n], chart_id=chart_id, service_date='2026-11-02',
                                         doc_type=p, title=p, service_location=p, **body)

    in_chart = [document(n, document_chart, body_kind='text', body=p) for n, p in enumerate(PAYLOADS)]
    own = [document(n, chart_ids[n], body_kind='text', body=p) for n, p in enumerate(PAYLOADS)]
    html_body = ALL_IN_ONE + '\n' + ''.join(f'<p>{p}</p>' for p in PAYLOADS)  # raw, and inside paragraphs
    sent = document(1, document_chart, body_kind='html', body=html_body)
    contact_rows = [contacts.add_contact(session, actor=staff[n], first_name=p, last_name=p,
                                         email=f'contact{n}@outside.test', organization=p, confirm_same_name=True)
                    for n, p in enumerate(PAYLOADS)]
    contact_accounts_ = [factories.contact_account(session, session.get(Contact, row.id)) for row in contact_rows]
    reader = contacts.add_contact(session, actor=staff[2], first_name='Reader', last_name=PAYLOADS[1],
                                  email='reader@outside.test', organization=PAYLOADS[26])
    reader_account = factories.contact_account(session, session.get(Contact, reader.id))
    reader_shares = [sharing.share_document(session, document_id=own[n], contact_id=reader.id, actor=staff[n]).share_id
                     for n in range(N)]
    sent_share = sharing.share_document(session, document_id=sent, contact_id=reader.id, actor=staff[3]).share_id
    payload_shares = [sharing.share_document(session, document_id=sent, contact_id=row.id, actor=staff[n]).share_id
                      for n, row in enumerate(contact_rows)]
    contact_accounts.accept_terms(session, actor=factories.actor_for(session, reader_account))
    for account in contact_accounts_:
        contact_accounts.accept_terms(session, actor=factories.actor_for(session, account))
    return dict(staff_id=staff[5].account_id, document_chart=document_chart, sent=sent, text_document=in_chart[0],
                reader_contact=reader.id, reader_account=reader_account.id, payload_contact=contact_rows[0].id,
                charts=chart_ids, contacts=[row.id for row in contact_rows],
                reader_shares=reader_shares, sent_share=sent_share, payload_shares=payload_shares,
                payload_accounts=[a.id for a in contact_accounts_])


def _registrations(session, *, reader_account: int) -> tuple[list[int], int]:
    """One registration per payload in every free-text answer, and one carrying them all in its long texts."""
    actor = _actor(session, reader_account)

    def submit(first: str, last: str, address: str, employer: str, employee_id: str, reason: str,
               submitter: str) -> int:
        token = registration.start(session, actor=actor)
        answers = {
            'person': {'first_name': first, 'last_name': last, 'date_of_birth': '1990-04-02', 'sex': 'Female'},
            'contact_details': {'phone': '+1 555 123 4567', 'email': '', 'address': address},
            'employment': {'employer': employer, 'employee_id': employee_id},
            'registration': {'reason': reason},
            'submitter': {'submitter_name': submitter, 'submitter_phone': '555 987 6543'},
        }
        for key, section in answers.items():
            assert registration.save_section(session, token=token, section_key=key, answers=section) == {}, key
        reference = registration.submit(session, token=token)
        return session.exec(select(Registration.id).where(Registration.reference == reference)).one()

    each = [submit(p, p, p, p, within(p, 64), p, p) for p in PAYLOADS]
    address = '\n'.join(PAYLOADS[:8])
    assert len(address) <= 500
    return each, submit('Every', 'Answer', address, PAYLOADS[39], PAYLOADS[45], ALL_IN_ONE, PAYLOADS[40])


def build_world(portal, ids: Base) -> World:
    made = portal.seed(_staff_and_clinic, admin_id=ids.admin_id)
    for share_id, account_id, payload in zip(made['payload_shares'], made['payload_accounts'], PAYLOADS):
        actor = db.run(_actor, account_id=account_id)
        replies.create_reply(actor=actor, share_id=share_id, text=payload)
    reply_ids = portal.seed(lambda session: list(session.exec(select(Reply.id).order_by(Reply.id)).all()))
    reader = db.run(_actor, account_id=made['reader_account'])
    for payload in PAYLOADS:  # the reader's first message gets a reply per payload: its viewer lists them all
        replies.create_reply(actor=reader, share_id=made['reader_shares'][0], text=payload)
    replies.create_reply(actor=reader, share_id=made['reader_shares'][0], text=ALL_IN_ONE)
    each, all_in_one = portal.seed(_registrations, reader_account=made['reader_account'])
    tokens = {role: portal.seed(_session_token, account_id=account_id) for role, account_id in (
        ('admin', ids.admin_id), ('staff', made['staff_id']), ('reader', made['reader_account']),
        ('terms', ids.terms_id))}
    return World(tokens=tokens, document_chart=made['document_chart'], sent_document=made['sent'],
                 text_document=made['text_document'], reader_contact=made['reader_contact'],
                 payload_contact=made['payload_contact'], charts=made['charts'], contacts=made['contacts'],
                 reader_shares=made['reader_shares'],
                 sent_share=made['sent_share'], replies=reply_ids, registrations=each,
                 all_in_one_registration=all_in_one)


def test_names_and_texts_in_records_never_run_on_the_pages_that_show_them(shared_portal, browser) -> None:
    """Charts, documents, contacts, replies, registrations and account names carry every payload; every page
    that shows them is opened (and its tables paged through) by the person who would see it."""
    ids = base(shared_portal)
    started = time.monotonic()
    # the frame carries payloads too, a different one in each text setting
    shared_portal.seed(set_text_settings, admin_id=ids.admin_id, values={
        'portal_name': PAYLOADS[38], 'header_text': PAYLOADS[39], 'footer_text': PAYLOADS[42],
        'logo_alt': PAYLOADS[40], 'terms_text': ALL_IN_ONE,
        'footer_links': '\n'.join(f'{p} | /login' for p in PAYLOADS[42:52])})
    world = build_world(shared_portal, ids)
    seeded = time.monotonic()
    checker = Checker(browser, shared_portal.url)
    browser.get(shared_portal.url + '/login')
    frame = [PAYLOADS[38], PAYLOADS[39], PAYLOADS[42], *PAYLOADS[42:52]]

    # signed out, and a contact who must accept the terms first
    checker.as_role(None)
    checker.open('/login', expect=frame, alt=[PAYLOADS[40]])
    checker.as_role(world.tokens['terms'])
    checker.open('/terms', expect=frame + PAYLOADS)

    # the contact: main screen (title, regarding, by, type), the viewer with every reply, settings
    checker.as_role(world.tokens['reader'])
    checker.open('/', expect=frame)
    checker.table_pages('/ messages', table=0, expect=PAYLOADS)
    checker.open(f'/message/{world.reader_shares[0]}', expect=[PAYLOADS[0]] + PAYLOADS)
    checker.open(f'/message/{world.sent_share}', expect=[PAYLOADS[1], PAYLOADS[38]])
    for n in DETAIL:
        checker.open(f'/message/{world.reader_shares[n]}', expect=[PAYLOADS[n]])
    checker.open('/settings', expect=frame)

    # staff: charts, a chart's documents, a document with its send history, contacts, worklist, registrations
    checker.as_role(world.tokens['staff'])
    checker.open('/staff', expect=frame + [PAYLOADS[5]])
    checker.table_pages('/staff charts', expect=PAYLOADS)
    checker.open(f'/staff/chart/{world.document_chart}', expect=[PAYLOADS[38]])
    checker.table_pages('/staff/chart documents', expect=PAYLOADS)
    checker.open(f'/staff/document/{world.sent_document}', expect=PAYLOADS)  # recipients and senders
    checker.open(f'/staff/document/{world.text_document}', expect=[PAYLOADS[0]])
    checker.open('/staff/contacts')
    checker.table_pages('/staff/contacts list', expect=PAYLOADS)
    checker.open(f'/staff/contacts/{world.reader_contact}', expect=[PAYLOADS[1], PAYLOADS[26]])
    checker.table_pages('/staff/contacts received', table=0, expect=PAYLOADS)
    checker.open(f'/staff/contacts/{world.payload_contact}', expect=[PAYLOADS[0]])
    checker.open('/staff/worklist')
    checker.table_pages('/staff/worklist replies', expect=PAYLOADS)
    for n in DETAIL:  # one record's own page, for the payloads that broke out of props strings
        checker.open(f'/staff/chart/{world.charts[n]}', expect=[PAYLOADS[n]])
        checker.open(f'/staff/contacts/{world.contacts[n]}', expect=[PAYLOADS[n]])
        checker.open(f'/staff/reply/{world.replies[n]}', expect=[PAYLOADS[n]])
    checker.open(f'/staff/document/{world.sent_document}/access-report')
    checker.table_pages('/staff/document access report', expect=[f'{p} {p}' for p in PAYLOADS] + PAYLOADS)
    checker.open(f'/staff/chart/{world.document_chart}/access-report')
    checker.table_pages('/staff/chart access report', expect=PAYLOADS)
    checker.open(f'/staff/chart/{world.document_chart}/new-document')
    browser.find_element(By.XPATH, '//label[.//div[normalize-space()="Type"]]').click()  # the types' menu
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '.q-menu .q-item'))
    browser.execute_script('document.querySelector(".q-menu .q-virtual-scroll__content, .q-menu")'
                           '.scrollIntoView({block: "end"})')
    checker.check('/staff/chart/new-document types', expect=[PAYLOADS[0]])
    checker.open('/staff/registrations')
    checker.table_pages('/staff/registrations list', expect=PAYLOADS)
    checker.open(f'/staff/registrations?open={world.all_in_one_registration}', expect=PAYLOADS)
    for n in DETAIL:
        checker.open(f'/staff/registrations?open={world.registrations[n]}', expect=[PAYLOADS[n]])

    # admin: accounts (both lists and an account's details), the audit log, the settings with the preview
    checker.as_role(world.tokens['admin'])
    checker.open('/admin/accounts', expect=[PAYLOADS[40]])
    checker.table_pages('/admin/accounts staff', table=0, expect=PAYLOADS)
    browser.find_element(By.XPATH, '//div[@role="tab"][contains(., "Contact accounts")]').click()
    wait_for(browser, lambda d: '@outside.test' in d.execute_script(TABLE + 'return rows();', 0))
    checker.check('/admin/accounts contacts')
    checker.table_pages('/admin/accounts contacts', expect=[f'{p} {p}' for p in PAYLOADS])
    browser.execute_script(TABLE + 't.querySelector("tbody tr").click();', 0)  # an account's details
    wait_for(browser, lambda d: 'Linked contacts' in d.execute_script(VISIBLE_TEXT))
    checker.check('/admin/accounts contact details')
    checker.open('/admin/audit')
    checker.open('/admin/outbox')
    for row in range(3):  # an email opened as sent: the rendered template, in ui.html
        browser.execute_script(TABLE + 't.querySelectorAll("tbody tr")[arguments[1]].click();', 0, row)
        wait_for(browser, lambda d: any(b.is_displayed() for b in d.find_elements(
            By.XPATH, '//button[contains(., "Retry now") or contains(., "Cancel")]')))
        checker.check(f'/admin/outbox email {row + 1}', expect=[PAYLOADS[38]])
    checker.open('/admin/settings', expect=frame, alt=[PAYLOADS[40]])
    routes = sorted({re.sub(r'/\d+', '/{id}', page) for page in checker.pages})
    print(f'\nrecords: seeded in {seeded - started:.0f} s, {checker.checks} page checks on {len(routes)} routes '
          f'in {time.monotonic() - seeded:.0f} s: {", ".join(routes)}')
    checker.assert_clean()
