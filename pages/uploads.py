"""Files a form waits for: a submit made while its attachments are still on their way waits for them.

A large scan on a slow phone takes seconds to upload, and a person may press Send meanwhile. Without this the
form would go without the file (or the upload's check would refuse it after the form had gone). `Arrivals` counts
the files of one `ui.upload` from the moment the browser starts sending (Quasar's `start`) until each has been
kept or refused by the page's upload action, and the form's action awaits `arrivals.wait()` before it changes
anything:

    arrivals = uploads.Arrivals(upload, keep_file, message)
    ...
    async def save(act):
        await arrivals.wait()             # ends the action quietly if a file was refused or lost meanwhile
        await act.call(service, files=kept)

The uploader's own list is cleared once the browser has sent everything (`clear=True`): the page lists what it
kept. Clearing it sooner (from the upload action) would stop the files still on their way.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from nicegui import ui

from services.errors import UploadRejected

from . import actions

WAIT_SECONDS = 300  # a submit waits this long for its files (a 10 MB scan over a slow mobile upload)
FAILED = 'A file did not arrive (the connection failed). Choose it again.'
STILL_UPLOADING = 'Your files are still uploading. Try again once they are listed below the upload box.'


class Arrivals:
    """The files of one upload that are on their way: being sent by the browser, or being kept by `keep`."""

    def __init__(self, upload: ui.upload, keep: actions.Action, message: actions.Message, *,
                 clear: bool = True) -> None:
        self.upload, self.keep, self.message, self.clear = upload, keep, message, clear
        self.sending = False
        self.arriving = 0
        self.refused = 0  # files the upload action refused or the connection lost (the reason is shown)
        upload.on_upload(self._arrived)
        upload.on('start', self._started, args=[])
        upload.on('finish', self._finished, args=[])
        upload.on('failed', self._failed, args=[])

    @property
    def on_their_way(self) -> bool:
        return self.sending or self.arriving > 0

    async def wait(self) -> None:
        """Return once no file is on its way. A file refused or lost meanwhile ends the action (its reason stays
        shown); files still arriving after WAIT_SECONDS end it with a message."""
        refused_before = self.refused
        deadline = time.monotonic() + WAIT_SECONDS
        while self.on_their_way:
            if time.monotonic() > deadline:
                raise UploadRejected(STILL_UPLOADING)
            await asyncio.sleep(0.1)
        if self.refused > refused_before:
            raise actions.Stop()

    def _started(self) -> None:
        self.sending = True

    def _finished(self) -> None:
        self.sending = False
        if self.clear:
            self.upload.reset()

    def _failed(self) -> None:
        self.refused += 1
        self.message.error(FAILED)

    def _arrived(self, event: Any) -> Awaitable[None]:
        # counted here, before the browser hears the file was received, so no submit slips between the two
        self.arriving += 1
        return self._kept(event)

    async def _kept(self, event: Any) -> None:
        try:
            await self.keep(event)
        finally:
            self.arriving -= 1
            if self.message.is_error:
                self.refused += 1
