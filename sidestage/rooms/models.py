"""Every live-room table, imported in one place for Alembic and tests."""

from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.captions.models import CaptionLine
from sidestage.rooms.chat.models import ChatMessage, ChatMute
from sidestage.rooms.feed.models import RoomEvent, RoomSequence
from sidestage.rooms.polls.models import Poll, PollBallot, PollChoice
from sidestage.rooms.qa.models import Question, QuestionVote
from sidestage.rooms.room.models import RoomRemoval, RoomSettings
from sidestage.rooms.stage.models import StageSpeaker
from sidestage.rooms.tools.models import Tool, ToolClick

__all__ = [
    "AttendanceInterval",
    "CaptionLine",
    "ChatMessage",
    "ChatMute",
    "Poll",
    "PollBallot",
    "PollChoice",
    "Question",
    "QuestionVote",
    "RoomEvent",
    "RoomRemoval",
    "RoomSequence",
    "RoomSettings",
    "StageSpeaker",
    "Tool",
    "ToolClick",
]
