"""Who is connecting: the accounts behind connecting tokens, with their grants, read for
everyone connecting at the same moment in one go (``platform/batches.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Invite, InviteRedemption, RoleGrant
from sidestage.platform.access.service import load_principals
from sidestage.platform.accounts.models import Account, AuthToken
from sidestage.platform.accounts.service import find_token_accounts
from sidestage.platform.batches import Batches
from sidestage.platform.epochs import Copy, Epochs, Kept
from sidestage.rooms.commands import Identity

Found = tuple[Account, Identity]
# What a connection keeps of its person (account, grants, invites redeemed), read again by
# the next command once any of these changes. A new account is in no copy yet.
KEPT = (Kept(Account, inserts=False), Kept(RoleGrant), Kept(Invite), Kept(InviteRedemption))
ALSO_READ = (AuthToken,)  # looked up at connecting; not kept


class Identities:
    def __init__(self, db: async_sessionmaker[AsyncSession], epochs: Epochs) -> None:
        self._db = db
        self._epochs = epochs
        self._batches: Batches[str, Found] = Batches(self._read)

    async def of_token(self, token: str) -> Found | None:
        """The token's account, banned or not, and what to keep on its connection; None
        for an unknown or expired token."""
        return await self._batches.ask(token)

    async def _read(self, tokens: list[str]) -> dict[str, Found]:
        epoch = await self._epochs.current()  # before any row is read
        # Closing the database session detaches the rows, loaded: the copies outlive it.
        async with self._db() as db:
            accounts = await find_token_accounts(db, tokens)
            principals = await load_principals(db, list(accounts.values()))
        return {
            token: (account, Copy((account, principals[account.id]), epoch))
            for token, account in accounts.items()
        }
