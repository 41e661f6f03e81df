"""Room chat: messages, history, deletion, mutes, slow mode."""
