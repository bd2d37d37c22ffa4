"""How a private file is answered (pages/portal.py `file_route` decides who may have it)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Response
from services.files import FileContent, safe_file_name


def file_response(content: FileContent, *, inline: bool) -> Response:
    """A private file: never cached, never sniffed, HTML never rendered in the portal's origin."""
    name = safe_file_name(content.file_name)
    ascii_name = name.encode('ascii', 'replace').decode().replace('?', '_')
    disposition = f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(name)}'
    headers = {'Content-Disposition': disposition, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'}
    if content.mime_type == 'text/html':
        headers['Content-Security-Policy'] = 'sandbox'
    return Response(content.data, media_type=content.mime_type, headers=headers)


def no_store(text: str, status: int) -> Response:
    """A short plain-text refusal that is never cached."""
    return Response(text, status_code=status, media_type='text/plain', headers={'Cache-Control': 'no-store'})
