"""`/message/{id}`: the document viewer with its replies and the reply form; the contact's file routes.

Files are served only by the routes below, which check the session and ask the services for authorization.
"""
from __future__ import annotations

from nicegui import html, ui

from models.shapes import Actor
from services import messages, replies
from services.errors import NotAvailable, UploadRejected
from services.files import FileContent, safe_file_name
from services.settings import PortalSettings

from .. import access, actions, uploads
from ..frame import ASSETS, heading, not_available
from ..portal import Page, file_route, portal_page
from .home import local_time

ACCEPT = '.pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg'


@file_route('/files/message/{share_id}', roles=access.CONTACT)
def message_file(actor: Actor, share_id: int) -> FileContent:
    """The shared document's PDF or image (the service checks the share is this account's)."""
    return messages.message_file(actor=actor, share_id=share_id)


@file_route('/files/reply-attachment/{attachment_id}', roles=access.CONTACT, inline=())
def reply_attachment(actor: Actor, attachment_id: int) -> FileContent:
    """An attachment of a reply to one of this account's shares."""
    return messages.reply_attachment_file(actor=actor, attachment_id=attachment_id)


@portal_page('/message/{share_id}', roles=access.CONTACT, title='Message')
async def message_page(page: Page, share_id: str, reply: str | None = None) -> None:
    """Home icon, the document's header and body, the replies summary, and the reply form when allowed.

    Opening marks the message read and audits the view, so that happens only once the person's browser has
    connected, and after a click when the page was opened from a link on another site.
    """
    home = ui.button(icon='home', on_click=lambda: ui.navigate.to('/')).props('flat round size=lg color=primary')
    home.props['aria-label'] = 'Home'
    home.tooltip('Back to the message list').mark('home')
    content = ui.column().classes('w-full gap-4')
    wanted = int(share_id) if share_id.isdigit() else share_id

    async def show(actor: Actor) -> None:
        try:
            view = await access.off_loop(messages.open_message, actor=actor, share_id=wanted)
        except NotAvailable as error:
            with content:
                not_available(str(error), ('Back to the message list', '/'))
            return
        content.clear()
        with content:
            page.title(view.title)
            _header(view)
            _body(view)
            if view.acknowledgement_required:
                Acknowledgement(view, page.settings)
            _replies_summary(view, page.settings)
            if view.can_reply:
                ReplyForm(view.share_id, page.settings, focus=reply == '1')

    await page.show_when_seen(show, content)


def _header(view: messages.MessageView) -> None:
    with ui.card().classes('w-full gap-2').mark('message-header'):
        heading(view.title).classes('text-xl font-bold').mark('message-title')
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
            frame = html.iframe().props('title="Document"') \
                .classes('w-full border rounded').style('height: 75vh; min-height: 420px').mark('pdf-frame')
            frame.props['src'] = src
        elif view.file_mime in ('image/png', 'image/jpeg'):
            ui.image(src).props('fit=contain alt="Document image"').classes('w-full max-h-[75vh]').mark('image')
        if view.body_html:
            # stored sanitized on the way in, cleaned again by the service; ui.html keeps DOMPurify on
            ui.html(view.body_html).classes('w-full portal-doc').mark('body-html')  # the staff viewer's style
        elif view.body_text:
            ui.label(view.body_text).classes('w-full whitespace-pre-wrap').mark('body-text')
        with ui.row().classes('items-center gap-4'):
            ui.button('Download', icon='download',
                      on_click=lambda: ui.download.from_url(f'{src}?download=1')).props('outline').mark('download')
            if view.file_mime == 'application/pdf':  # phone browsers often show no PDF inside a page
                ui.link('Open in a new tab', src, new_tab=True).classes('text-sm').mark('open-pdf')
            ui.link('Print view (document and replies)', f'/message/{view.share_id}/print', new_tab=True) \
                .classes('text-sm').mark('print-link')


class Acknowledgement:
    """At the bottom of a document the clinic asked to be acknowledged: 'I have reviewed this document'."""

    def __init__(self, view: messages.MessageView, settings: PortalSettings) -> None:
        self.share_id, self.settings = view.share_id, settings
        with ui.card().classes('w-full gap-2').mark('acknowledgement') as self.card:
            self.show(view.acknowledged_at)

    def show(self, acknowledged_at) -> None:
        self.card.clear()
        with self.card:
            if acknowledged_at is not None:
                with ui.row().classes('items-center gap-2'):
                    ui.icon('task_alt', color='positive', size='md')
                    ui.label(f'You confirmed you reviewed this document on '
                             f'{local_time(acknowledged_at, self.settings)}.').mark('acknowledged')
                return
            ui.label('The clinic asks you to confirm that you have reviewed this document.').classes('text-grey-8')
            message = actions.Message('acknowledge-error')
            actions.button('I have reviewed this document', self.acknowledge, icon='task_alt', message=message) \
                .props('size=lg').mark('acknowledge')

    async def acknowledge(self, act: actions.Act) -> None:
        at = await act.call(messages.acknowledge, share_id=self.share_id)
        act.done()
        self.show(at)


def _replies_summary(view: messages.MessageView, settings: PortalSettings) -> None:
    if not view.replies:
        return
    with ui.column().classes('w-full gap-2').mark('replies-summary'):
        heading(f'Replies ({view.reply_total})', 2).classes('text-lg font-bold')
        listed = ui.column().classes('w-full gap-2')
        with listed:
            ReplyCards(view.replies, settings).mark('reply-cards')
        older = {'before': view.older_replies}

        async def show_older() -> None:
            """The next 20 older replies, below the ones shown (a read: the session is checked again)."""
            page = await actions.read(messages.list_replies, share_id=view.share_id, before=older['before'])
            if page is None:
                return
            with listed:
                ReplyCards(page.replies, settings).mark('reply-cards')
            older['before'] = page.older
            more.set_visibility(page.older is not None)

        more = ui.button('Show older replies', icon='expand_more', on_click=show_older).props('flat') \
            .mark('older-replies')
        more.set_visibility(view.older_replies is not None)


class ReplyCards(ui.element, component=ASSETS / 'reply_cards.js'):
    """One page of replies (newest first): a card each with time and author, text and attachment links."""

    def __init__(self, items: list[messages.ReplyView], settings: PortalSettings) -> None:
        super().__init__()
        # (a tuple: element props keep it as it is; a list would be copied into an observable one)
        self._props['replies'] = tuple(
            {'id': item.reply_id, 'when': local_time(item.created_at, settings), 'author': item.author_name,
             'body': item.body, 'attachments': [{'name': a.file_name, 'url': f'/files/reply-attachment/{a.attachment_id}'}
                                                for a in item.attachments]}
            for item in items)

    @property
    def replies(self) -> tuple[dict, ...]:
        return self._props['replies']

    def _displayed_contents(self, *, only_visible: bool) -> list:
        # what the template shows as text, for NiceGUI's simulated user (`user.should_see`)
        return [text for r in self.replies
                for text in (f"{r['when']} · {r['author']}", r['body'], *(a['name'] for a in r['attachments']))]


class ReplyForm:
    """Reply text and up to five attachments; every check runs again on the server when sending."""

    def __init__(self, share_id: int, settings: PortalSettings, *, focus: bool) -> None:
        self.share_id, self.max_bytes = share_id, settings.upload_max_bytes
        self.pending: list[replies.Attachment] = []
        with ui.card().classes('w-full gap-2').mark('reply-form'):
            heading('Reply', 2).classes('text-lg font-bold')
            self.text = ui.textarea('Your reply', placeholder='Write your reply to the clinic') \
                .props('outlined autogrow counter').classes('w-full').mark('reply-text')
            self.text.props['maxlength'] = replies.MAX_TEXT
            if focus:
                self.text.props('autofocus')
            ui.label(f'Attachments: up to {replies.MAX_ATTACHMENTS} PDF, PNG or JPEG files, '
                     f'{settings.upload_max_mb} MB each.').classes('text-xs text-grey-7')
            self.message = actions.Message('reply-error')
            self.upload = ui.upload(multiple=True, auto_upload=True, max_files=replies.MAX_ATTACHMENTS,
                                    max_file_size=self.max_bytes, label='Attach files', on_rejected=self.on_rejected) \
                .props('flat bordered').classes('w-full').mark('reply-upload')
            self.upload.props['accept'] = ACCEPT
            self.arrivals = uploads.Arrivals(
                self.upload, actions.Action(self.keep_upload, message=self.message, queue=True), self.message)
            self.files = ui.column().classes('gap-1').mark('reply-files')
            self.message.move(target_index=-1)
            actions.button('Send reply', self.send, icon='send', message=self.message).mark('send-reply')

    async def keep_upload(self, act: actions.Act) -> None:
        """Keep a checked copy of the upload in memory until the reply is sent (nothing is stored yet)."""
        upload = act.event.file
        name = safe_file_name(upload.name)
        if upload.size() > self.max_bytes:
            raise UploadRejected(f'"{name}" is larger than the limit of {self.max_bytes // (1024 * 1024)} MB.')
        attachment = replies.Attachment(name=name, data=await upload.read())
        # no await from here to the append: several uploads finishing together cannot pass six files
        replies.check_attachment_count(len(self.pending) + 1)
        replies.check_attachment(attachment, max_bytes=self.max_bytes)
        self.pending.append(attachment)
        self.render_files()

    def on_rejected(self) -> None:
        self.message.error(f'Attach at most {replies.MAX_ATTACHMENTS} PDF, PNG or JPEG files of up to '
                           f'{self.max_bytes // (1024 * 1024)} MB each.')

    def render_files(self) -> None:
        self.files.clear()
        with self.files:
            for index, attachment in enumerate(self.pending):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.label(attachment.name).mark('pending-file')
                    remove = ui.button(icon='close', on_click=lambda i=index: self.remove(i)) \
                        .props('flat round dense size=sm')
                    remove.props['aria-label'] = f'Remove {attachment.name}'

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.pending):
            self.pending.pop(index)
        self.render_files()

    async def send(self, act: actions.Act) -> None:
        """Store the reply (the service checks everything again) and go straight back to the list.

        Sent while attachments are still on their way, it waits for them; if one of them is refused meanwhile,
        nothing is sent and the reason stays next to the button.
        """
        await self.arrivals.wait()
        await act.call(replies.create_reply, share_id=self.share_id, text=self.text.value,
                       attachments=list(self.pending))
        act.done('Your reply was sent to the clinic.', navigate='/')
