"""`/message/{id}/print`: the contact's print view of one of its own messages (the document and every reply to it),
in the one print layout staff use too (pages/printing.py)."""
from __future__ import annotations

from nicegui import ui

from models.shapes import Actor
from services import messages
from services.errors import NotAvailable

from .. import access, printing
from ..frame import not_available
from ..portal import Page, portal_page
from .home import local_time


@portal_page('/message/{share_id}/print', roles=access.CONTACT, title='Print')
async def print_message_page(page: Page, share_id: str) -> None:
    """Another person's or a withdrawn message gets the viewer's "not available". Opening the print view is a view
    of the document, as opening the viewer is: it marks the message read and is audited, so (like the viewer) that
    waits until the person's browser has connected, and for a click when the page was opened from another site."""
    content = ui.column().classes('w-full gap-4')
    wanted = int(share_id) if share_id.isdigit() else share_id
    back = ('Back to the message', f'/message/{share_id}' if isinstance(wanted, int) else '/')

    async def show(actor: Actor) -> None:
        try:
            view = await access.off_loop(messages.print_message, actor=actor, share_id=wanted)
        except NotAvailable as error:
            content.clear()
            with content:
                not_available(str(error), ('Back to the message list', '/'))
            return
        content.clear()
        page.title(f'Print · {view.title}')
        with content:
            printing.print_layout(printing.Printout(
                title=view.title,
                meta=f'{view.doc_type} · service date {view.service_date.isoformat()} · regarding {view.regarding} '
                     f'· by {view.by_name}',
                body_html=view.body_html, body_text=view.body_text,
                file_url=f'/files/message/{view.share_id}' if view.file_mime else None, mime_type=view.file_mime,
                file_name=view.file_name,
                replies=[printing.PrintedReply(when=local_time(r.created_at, page.settings), author=r.author_name,
                                               body=r.body, attachments=len(r.attachments)) for r in view.replies]),
                back=back)

    await page.show_when_seen(show, content)
