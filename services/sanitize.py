"""HTML sanitizing for stored rich text (documents, templates): done on the way in."""
from __future__ import annotations

import re

import nh3

_TAGS = {
    'a', 'abbr', 'b', 'blockquote', 'br', 'caption', 'code', 'col', 'colgroup', 'dd', 'div', 'dl', 'dt',
    'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'li', 'ol', 'p', 'pre', 's', 'small', 'span',
    'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'u', 'ul',
}
_ATTRIBUTES = {
    'a': {'href', 'title'},
    'td': {'colspan', 'rowspan'},
    'th': {'colspan', 'rowspan', 'scope'},
    'abbr': {'title'},
}


def clean_html(html: str) -> str:
    """Keep formatting markup only: no scripts, styles, event handlers, images or foreign URLs schemes."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={'http', 'https', 'mailto'},
        link_rel='noopener noreferrer nofollow',
    )


_HEADING = re.compile(r'<(/?)h([1-6])>')  # nh3 writes heading tags bare: no attribute is allowed on them


def clean_document(html: str) -> str:
    """A document's HTML as a viewer shows it (the contact's and the staff viewer, the print view): cleaned, and with
    its headings moved one level down when it has an `h1`, so they fit under the page's own h1 (the document's
    title): h1 becomes h2, h2 h3 and so on, h6 stays h6. A document whose headings start at h2 or lower keeps them.
    """
    cleaned = clean_html(html)
    if '<h1>' not in cleaned:
        return cleaned
    return _HEADING.sub(lambda m: f'<{m[1]}h{min(int(m[2]) + 1, 6)}>', cleaned)
