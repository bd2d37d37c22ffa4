"""`/message/{id}`: the document viewer with its replies and the reply form; the contact's file routes.

Files are served only by the routes below, which check the session and ask the services for authorization.
"""
from __future__ import annotations

from fastapi import Request, Response
from nicegui import app, html, run, ui

from services import messages, replies
from services.errors import NotAvailable, PortalError, UploadRejected
from services.files import safe_file_name
from services.settings import PortalSettings, get_settings

from . import guard, page
from .frame import frame
from .home import local_time
from .private_files import file_response, request_actor

ACCEPT = '.pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg'


def register() -> None:
    page('/message/{share_id}')(message_page)

    @app.get('/files/message/{share_id}')
    async def message_file(share_id: int, request: Request, download: bool = False) -> Response:
        actor = await request_actor(request)
        if actor is None:
            return Response('Sign in to see this file.', status_code=401, media_type='text/plain')
        try:
            content = await run.io_bound(messages.message_file, actor=actor, share_id=share_id)
        except NotAvailable as error:
            return Response(str(error), status_code=404, media_type='text/plain')
        inline = not download and content.mime_type in ('application/pdf', 'image/png', 'image/jpeg')
        return file_response(content, inline=inline)

    @app.get('/files/reply-attachment/{attachment_id}')
    async def reply_attachment(attachment_id: int, request: Request, download: bool = False) -> Response:
        actor = await request_actor(request)
        if actor is None:
            return Response('Sign in to see this file.', status_code=401, media_type='text/plain')
        try:
            content = await run.io_bound(messages.reply_attachment_file, actor=actor, attachment_id=attachment_id)
        except NotAvailable as error:
            return Response(str(error), status_code=404, media_type='text/plain')
        return file_response(content, inline=not download)


async def message_page(share_id: str, reply: str | None = None) -> None:
    """Home icon, the document's header and body, the replies summary, and the reply form when allowed."""
    actor = await guard.require_contact()
    if actor is None:
        return
    settings = await run.io_bound(get_settings)
    with frame('Message', actor, settings):
        ui.button(icon='home', on_click=lambda: ui.navigate.to('/')).props(
            'flat round size=lg color=primary aria-label="Home"').tooltip('Back to the message list').mark('home')
        try:
            view = await run.io_bound(messages.open_message, actor=actor,
                                      share_id=int(share_id) if share_id.isdigit() else share_id)
        except NotAvailable as error:
            with ui.card().classes('w-full p-6 items-center text-center').mark('not-available'):
                ui.icon('block', size='lg', color='grey-7')
                ui.label(str(error)).classes('text-lg')
                ui.link('Back to the message list', '/')
            return
        _header(view)
        _body(view)
        _replies_summary(view, settings)
        if view.can_reply:
            ReplyForm(view.share_id, settings, focus=reply == '1')


def _header(view: messages.MessageView) -> None:
    with ui.card().classes('w-full gap-2').mark('message-header'):
        ui.label(view.title).classes('text-xl font-bold').mark('message-title')
        with ui.grid().classes('grid-cols-1 sm:grid-cols-2 gap-x-6 gap-y-1 w-full'):
            for label, value, mark in (('TYPE', view.doc_type, 'type'),
                                       ('SERV DATE', view.service_date.isoformat(), 'serv-date'),
                                       ('REGARDING', view.regarding, 'regarding'), ('BY', view.by_name, 'by')):
                with ui.row().classes('gap-2 items-baseline'):
                    ui.label(label).classes('text-xs font-bold text-grey-7 w-24')
                    ui.label(value).mark(f'header-{mark}')


def _body(view: messages.MessageView) -> None:
    src = f'/files/message/{view.share_id}'
    with ui.card().classes('w-full gap-3').mark('message-body'):
        if view.file_mime == 'application/pdf':
            html.iframe().props(f'src={src} title="Document"') \
                .classes('w-full border rounded').style('height: 75vh; min-height: 420px').mark('pdf-frame')
        elif view.file_mime in ('image/png', 'image/jpeg'):
            ui.image(src).props('fit=contain alt="Document image"').classes('w-full max-h-[75vh]').mark('image')
        if view.body_html:
            # stored sanitized on the way in, cleaned again by the service; ui.html keeps DOMPurify on
            ui.html(view.body_html).classes('w-full').mark('body-html')
        elif view.body_text:
            ui.label(view.body_text).classes('w-full whitespace-pre-wrap').mark('body-text')
        with ui.row().classes('items-center gap-4'):
            ui.button('Download', icon='download',
                      on_click=lambda: ui.download.from_url(f'{src}?download=1')).props('outline').mark('download')
            if view.file_mime == 'application/pdf':  # phone browsers often show no PDF inside a page
                ui.link('Open in a new tab', src, new_tab=True).classes('text-sm').mark('open-pdf')


def _replies_summary(view: messages.MessageView, settings: PortalSettings) -> None:
    if not view.replies:
        return
    with ui.column().classes('w-full gap-2').mark('replies-summary'):
        ui.label(f'Replies ({len(view.replies)})').classes('text-lg font-bold')
        for item in view.replies:
            with ui.card().classes('w-full gap-1').mark('reply'):
                ui.label(f'{local_time(item.created_at, settings)} · {item.author_name}') \
                    .classes('text-xs text-grey-7')
                ui.label(item.body).classes('whitespace-pre-wrap break-words').mark('reply-body')
                for attachment in item.attachments:
                    ui.link(attachment.file_name, f'/files/reply-attachment/{attachment.attachment_id}',
                            new_tab=True).classes('text-sm').mark('reply-attachment')


class ReplyForm:
    """Reply text and up to five attachments; every check runs again on the server when sending."""

    def __init__(self, share_id: int, settings: PortalSettings, *, focus: bool) -> None:
        self.share_id, self.max_bytes = share_id, settings.upload_max_bytes
        self.pending: list[replies.Attachment] = []
        with ui.card().classes('w-full gap-2').mark('reply-form'):
            ui.label('Reply').classes('text-lg font-bold')
            self.text = ui.textarea('Your reply', placeholder='Write your reply to the clinic') \
                .props(f'outlined autogrow counter maxlength={replies.MAX_TEXT}{" autofocus" if focus else ""}') \
                .classes('w-full').mark('reply-text')
            ui.label(f'Attachments: up to {replies.MAX_ATTACHMENTS} PDF, PNG or JPEG files, '
                     f'{settings.upload_max_mb} MB each.').classes('text-xs text-grey-7')
            self.upload = ui.upload(multiple=True, auto_upload=True, max_files=replies.MAX_ATTACHMENTS,
                                    max_file_size=self.max_bytes, on_upload=self.on_upload,
                                    on_rejected=self.on_rejected, label='Attach files') \
                .props(f'accept="{ACCEPT}" flat bordered').classes('w-full').mark('reply-upload')
            self.files = ui.column().classes('gap-1').mark('reply-files')
            self.error = ui.label().classes('text-negative').mark('reply-error')
            self.error.set_visibility(False)
            self.send_button = ui.button('Send reply', icon='send', on_click=self.send).mark('send-reply')

    def show_error(self, message: str) -> None:
        self.error.text = message
        self.error.set_visibility(True)

    async def on_upload(self, event) -> None:
        """Keep a checked copy of the upload in memory until the reply is sent (nothing is stored yet)."""
        if await guard.require() is None:
            return
        name = safe_file_name(event.file.name)
        try:
            if event.file.size() > self.max_bytes:
                raise UploadRejected(f'"{name}" is larger than the limit of {self.max_bytes // (1024 * 1024)} MB.')
            attachment = replies.Attachment(name=name, data=await event.file.read())
            # no await from here to the append: several uploads finishing together cannot pass six files
            replies.check_attachment_count(len(self.pending) + 1)
            replies.check_attachment(attachment, max_bytes=self.max_bytes)
        except PortalError as error:
            self.show_error(str(error))
            return
        self.pending.append(attachment)
        self.error.set_visibility(False)
        self.render_files()
        self.upload.reset()  # the list below is what will be sent

    def on_rejected(self) -> None:
        self.show_error(f'Attach at most {replies.MAX_ATTACHMENTS} PDF, PNG or JPEG files of up to '
                        f'{self.max_bytes // (1024 * 1024)} MB each.')

    def render_files(self) -> None:
        self.files.clear()
        with self.files:
            for index, attachment in enumerate(self.pending):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.label(attachment.name).mark('pending-file')
                    ui.button(icon='close', on_click=lambda i=index: self.remove(i)) \
                        .props(f'flat round dense size=sm aria-label="Remove {_attr(attachment.name)}"')

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.pending):
            self.pending.pop(index)
        self.render_files()

    async def send(self) -> None:
        """Store the reply (the service checks everything again) and go straight back to the list."""
        actor = await guard.require()
        if actor is None:
            return
        self.send_button.disable()
        try:
            await run.io_bound(replies.create_reply, actor=actor, share_id=self.share_id, text=self.text.value,
                               attachments=list(self.pending))
        except PortalError as error:
            self.show_error(str(error))
            return
        finally:
            self.send_button.enable()
        ui.notify('Your reply was sent to the clinic.', type='positive')
        ui.navigate.to('/')


def _attr(value: str) -> str:
    return value.replace('"', '').replace('<', '').replace('>', '')
