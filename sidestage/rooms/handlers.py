"""Importing this module registers every live-room command in ``commands.registry``."""

from sidestage.rooms.captions import handlers as captions  # noqa: F401
from sidestage.rooms.chat import handlers as chat  # noqa: F401
from sidestage.rooms.commands import registry
from sidestage.rooms.polls import handlers as polls  # noqa: F401
from sidestage.rooms.qa import handlers as qa  # noqa: F401
from sidestage.rooms.room import handlers as room  # noqa: F401
from sidestage.rooms.stage import handlers as stage  # noqa: F401
from sidestage.rooms.tools import handlers as tools  # noqa: F401

__all__ = ["registry"]
