"""The services' name for the one source of "now" (it lives in models, whose defaults use it too)."""
from models.clock import FrozenClock, now, set_clock

__all__ = ['FrozenClock', 'now', 'set_clock']
