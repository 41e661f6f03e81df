"""Tools that hosts and moderators launch to the room, and who clicked them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.errors import InvalidInput, NotFound
from sidestage.platform.text import is_web_url
from sidestage.rooms import events as audience
from sidestage.rooms.commands import Context
from sidestage.rooms.common import clean_text
from sidestage.rooms.tools import events
from sidestage.rooms.tools.models import Tool, ToolClick


async def launch(ctx: Context, session_id: int, title: str, url: str, description: str) -> Tool:
    tool = Tool(
        session_id=session_id,
        title=clean_text(title, 200, "tool"),
        url=checked_url(url.strip()),
        description=description.strip(),
        organization_id=ctx.session.host_organization_id if ctx.session else None,
        launched_by=ctx.account.id,
    )
    ctx.db.add(tool)
    await ctx.db.flush()
    ctx.outbox.add("tool.launched", events.tool_out(tool), audience.room(session_id))
    return tool


def checked_url(url: str) -> str:
    """The address, if it may be launched and followed: launching and the counted link's
    redirect ask the same question, so nothing accepted here fails there."""
    if not is_web_url(url):
        raise InvalidInput(
            "tool.bad_url",
            "A tool's address is a web address starting with http:// or https://, "
            "without spaces or backslashes.",
        )
    return url


async def tools_of(db: AsyncSession, session_id: int) -> list[Tool]:
    query = select(Tool).where(Tool.session_id == session_id).order_by(Tool.id)
    return list((await db.scalars(query)).all())


async def get_tool(db: AsyncSession, tool_id: int) -> Tool:
    tool = await db.get(Tool, tool_id)
    if tool is None:
        raise NotFound("tool.not_found", "There is no such tool.")
    return tool


async def click(
    db: AsyncSession, tool: Tool, account_id: int | None, organization_id: int | None
) -> None:
    db.add(ToolClick(tool_id=tool.id, account_id=account_id, organization_id=organization_id))
    await db.flush()


async def clicks_by_organization(db: AsyncSession, tool_id: int) -> dict[int | None, int]:
    rows = await db.execute(
        select(ToolClick.organization_id, func.count())
        .where(ToolClick.tool_id == tool_id)
        .group_by(ToolClick.organization_id)
    )
    return {org: int(count) for org, count in rows}
