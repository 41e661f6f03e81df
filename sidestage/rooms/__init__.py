"""Live room features: chat, polls, Q&A, attendance, tools (and later the stage).

Transport-agnostic: services change state and record events in an outbox;
``sidestage.realtime`` runs the commands over Socket.IO and delivers the events
after the database commit.
"""
