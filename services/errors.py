"""Domain errors raised by services; pages show `str(error)` to the user and log nothing more."""


class PortalError(Exception):
    """Base class: the message is safe and clear enough to show to the person who caused it."""


class InvalidInput(PortalError):
    """What the user entered cannot be accepted; nothing was stored."""


class NotAvailable(PortalError):
    """The record does not exist, is not yours, or was withdrawn (deliberately indistinguishable)."""

    def __init__(self, message: str = 'This item is not available.') -> None:
        super().__init__(message)


class Forbidden(PortalError):
    """The signed-in account may not do this."""

    def __init__(self, message: str = 'You are not allowed to do this.') -> None:
        super().__init__(message)


class UploadRejected(InvalidInput):
    """An uploaded file is empty, too large or not of an accepted type."""


class RateLimited(PortalError):
    """Too many failed attempts; try again later."""
