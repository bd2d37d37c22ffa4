"""A body over the upload limit: the API answers RFC 9457 problem+json (`payload-too-large`), declared or
streamed; pages keep their plain-text 413. The portal's middleware wraps a small app with the API's router."""
from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import api
from pages.upload_limit import UploadLimit
from services.settings import get_settings

PROBLEM = 'application/problem+json'


def _app() -> FastAPI:
    app = FastAPI()
    api.register(app)

    @app.post('/page-upload')
    async def page_upload() -> PlainTextResponse:
        return PlainTextResponse('ok')
    app.add_middleware(UploadLimit)
    return app


async def test_a_body_over_the_limit_is_a_problem_for_the_api_and_text_for_pages(database) -> None:
    over = get_settings().upload_max_bytes + 128 * 1024
    megabytes = get_settings().upload_max_bytes // (1024 * 1024)

    async def streamed():
        for _ in range(over // 65536 + 1):
            yield b'x' * 65536
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url='http://127.0.0.1') as client:
        declared = await client.post('/api/v1/documents/upload', content=b'x' * over,
                                     headers={'content-type': 'multipart/form-data; boundary=xyz'})
        assert declared.status_code == 413 and declared.headers['content-type'] == PROBLEM
        assert declared.json() == {
            'type': 'https://smp.invalid/problems/payload-too-large', 'title': 'The request is too large',
            'status': 413, 'instance': '/api/v1/documents/upload',
            'detail': f'Request bodies larger than {megabytes} MB (the upload limit) are not accepted.'}
        chunked = await client.post('/api/v1/documents', content=streamed(),
                                    headers={'content-type': 'application/json'})
        assert chunked.status_code == 413 and chunked.headers['content-type'] == PROBLEM
        assert chunked.json()['type'].endswith('/payload-too-large') and 'upload limit' in chunked.json()['detail']

        page = await client.post('/page-upload', content=b'x' * over)
        assert page.status_code == 413 and page.headers['content-type'].startswith('text/plain')
        assert page.text == f'Files larger than {megabytes} MB are not accepted.'
        page_streamed = await client.post('/page-upload', content=streamed())
        assert page_streamed.status_code in (200, 413)  # (this page never reads its body)
        small = await client.post('/api/v1/documents', json={})
        assert small.status_code == 401 and small.headers['content-type'] == PROBLEM  # (under the limit: as before)
