"""The whole schema: every feature's tables, for Alembic and for tests.

It lives above ``platform`` and ``rooms`` because it gathers both.
"""

import sidestage.platform.models  # noqa: F401  (registers the platform tables)
import sidestage.rooms.models  # noqa: F401  (registers the live-room tables)
from sidestage.platform.db import Base

metadata = Base.metadata
