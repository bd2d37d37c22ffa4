"""The co-brand logo: upload checks (PNG, JPEG or sanitized SVG), storage, and what `/branding/logo` serves."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from sqlmodel import Session

from models import StoredFile
from models.shapes import Actor

from . import files
from .errors import UploadRejected
from .settings import get_settings
from .settings_admin import require_admin, save_section

LOGO_MAX_BYTES = 1024 * 1024
SVG_MIME = 'image/svg+xml'
SVG_NS = 'http://www.w3.org/2000/svg'
XLINK_NS = 'http://www.w3.org/1999/xlink'
# served with the SVG logo: even if something slipped through, nothing runs and nothing loads
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
_SVG_ELEMENTS = {
    'svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan', 'defs',
    'linearGradient', 'radialGradient', 'stop', 'title', 'desc', 'clipPath', 'mask', 'use', 'symbol', 'pattern',
}
_URL_REF = re.compile(r'url\s*\(\s*[\'"]?\s*([^)\'"\s]*)', re.IGNORECASE)


@dataclass(frozen=True)
class Logo:
    """The logo bytes and how to serve them."""

    data: bytes
    mime_type: str


def check_logo(data: bytes, file_name: str) -> tuple[bytes, str]:
    """The bytes to store and their type; SVG comes back sanitized. UploadRejected names the problem."""
    label = files.safe_file_name(file_name)
    if not data:
        raise UploadRejected(f'"{label}" is empty.')
    if len(data) > LOGO_MAX_BYTES:
        raise UploadRejected(f'"{label}" is larger than the logo limit of {LOGO_MAX_BYTES // 1024} KB.')
    mime = files.detect_type(data, ('png', 'jpeg'))
    if mime:
        return data, mime
    if _looks_like_svg(data):
        return sanitize_svg(data, label), SVG_MIME
    raise UploadRejected(f'"{label}" is not a PNG, JPEG or SVG image.')


def _looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip(b'\xef\xbb\xbf \t\r\n').lower()
    return head.startswith(b'<?xml') or head.startswith(b'<svg')


def sanitize_svg(data: bytes, label: str = 'logo') -> bytes:
    """Keep drawing elements only: no scripts, event handlers, styles sheets, foreign objects or outside references."""
    refused = UploadRejected(f'"{label}" is not a PNG, JPEG or SVG image that can be shown safely.')
    if b'<!DOCTYPE' in data.upper() or b'<!ENTITY' in data.upper():
        raise refused  # entities could expand without bound or read local files
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise refused from None
    if root.tag != f'{{{SVG_NS}}}svg':
        raise refused
    _clean_element(root)
    ET.register_namespace('', SVG_NS)
    ET.register_namespace('xlink', XLINK_NS)
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def _clean_element(element: ET.Element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str) or not child.tag.startswith(f'{{{SVG_NS}}}') \
                or child.tag.split('}')[1] not in _SVG_ELEMENTS:
            element.remove(child)  # script, style, foreignObject, image, a, anything outside SVG
            continue
        _clean_element(child)
    for name in list(element.attrib):
        if not _attribute_allowed(name, element.attrib[name]):
            del element.attrib[name]


def _attribute_allowed(name: str, value: str) -> bool:
    local = name.split('}')[-1].lower()
    if local.startswith('on') or 'javascript:' in value.lower().replace(' ', ''):
        return False
    if local == 'href':
        return value.strip().startswith('#')
    if local == 'style' and ('@import' in value.lower() or '\\' in value):
        return False
    return all(ref.startswith('#') for ref in _URL_REF.findall(value))


def save_logo(session: Session, *, data: bytes, file_name: str, actor: Actor) -> int:
    """Check and store a new logo and make it the header's logo (audited as a settings change)."""
    require_admin(actor)
    clean, mime = check_logo(data, file_name)
    stored = _store(session, clean, mime, file_name)
    save_section(session, section='branding', values={'logo_file_id': stored.id}, actor=actor)
    return stored.id


def remove_logo(session: Session, *, actor: Actor) -> None:
    """Go back to the default icon."""
    require_admin(actor)
    save_section(session, section='branding', values={'logo_file_id': None}, actor=actor)


def current_logo(session: Session) -> Logo | None:
    """The logo the header shows, or None (public: it appears on the sign-in page)."""
    file_id = get_settings(session).logo_file_id
    stored = session.get(StoredFile, file_id) if file_id else None
    if stored is None:
        return None
    try:
        return Logo(data=files.read(stored), mime_type=stored.mime_type)
    except OSError:  # the file went missing (e.g. a partial restore): show the default icon, not an error
        return None


def _store(session: Session, data: bytes, mime: str, file_name: str) -> StoredFile:
    if mime != SVG_MIME:
        return files.store(session, data, file_name, max_bytes=LOGO_MAX_BYTES, allowed=('png', 'jpeg'))
    return files.store_verified(session, data, SVG_MIME)  # sanitized above; magic bytes do not apply
