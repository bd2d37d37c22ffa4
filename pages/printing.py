"""The one print layout of a document with the summary of its replies, for staff (`/staff/document/{id}/print`)
and contacts (`/message/{id}/print`): the same sanitized body and document style as the viewers, and print CSS
that leaves the header, footer and buttons off the paper."""
from __future__ import annotations

from dataclasses import dataclass

from nicegui import html, ui

from services.sanitize import clean_html

from . import frame

# the browser's Print leaves out the portal's navigation and this page's own links and buttons
PRINT_CSS = ('@media print { header, footer, .q-header, .q-footer, .q-drawer, .skip-link, .smp-no-print '
             '{ display: none !important; } .q-page-container { padding: 0 !important; } }')


@dataclass(frozen=True)
class PrintedReply:
    """One reply as printed: when (already in the portal's time zone), who, how many attachments, the text."""

    when: str
    author: str
    body: str
    attachments: int = 0


@dataclass(frozen=True)
class Printout:
    """What a print view shows; `file_url` is the session-checked route of the document's PDF or image."""

    title: str
    meta: str
    body_html: str | None
    body_text: str | None
    replies: list[PrintedReply]
    file_url: str | None = None
    mime_type: str | None = None
    file_name: str | None = None


def print_layout(printout: Printout, back: tuple[str, str]) -> None:
    """Lay out `printout` for paper: a row of links and the Print button (not printed), the title, the document,
    and 'Replies (n)' with one card per reply, oldest first."""
    ui.add_css(PRINT_CSS)
    with ui.row().classes('w-full items-center smp-no-print').mark('print-toolbar'):
        ui.link(*back).classes('text-primary').mark('print-back')
        ui.space()
        ui.button('Print', icon='print', on_click=lambda: ui.run_javascript('window.print()')).mark('print')
    frame.heading(printout.title).classes('text-2xl font-bold').mark('print-title')
    ui.label(printout.meta).classes('text-sm').mark('print-meta')
    _body(printout)
    frame.heading(f'Replies ({len(printout.replies)})', 2).classes('text-lg font-bold').mark('print-replies')
    if not printout.replies:
        ui.label('No replies.').classes('text-grey-7')
    for reply in printout.replies:
        with ui.card().classes('w-full gap-1').mark('print-reply'):
            attached = f' · {reply.attachments} attachment{"s" if reply.attachments != 1 else ""}' \
                if reply.attachments else ''
            ui.label(f'{reply.when} · {reply.author}{attached}').classes('text-sm font-bold')
            ui.label(reply.body).classes('whitespace-pre-wrap break-words').mark('print-reply-body')


def _body(printout: Printout) -> None:
    with ui.card().classes('w-full').mark('document-body'):
        if printout.mime_type == 'application/pdf' and printout.file_url:
            frame_ = html.iframe().classes('w-full border-0').style('height: 75vh').mark('document-pdf')
            frame_.props['src'] = printout.file_url  # data, never parsed as props
            frame_.props['title'] = printout.file_name or 'PDF document'
        elif printout.mime_type and printout.file_url:
            image = ui.image(printout.file_url).props('fit=contain').classes('w-full max-h-[75vh]') \
                .mark('document-image')
            image.props['alt'] = printout.file_name or ''
        if printout.body_html:
            # stored sanitized, cleaned again here: the viewers' rendering and their one style (assets/portal.css)
            ui.html(printout.body_html, sanitize=clean_html).classes('w-full portal-doc').mark('document-html')
        elif printout.body_text:
            ui.label(printout.body_text).classes('w-full whitespace-pre-wrap').mark('document-text')
