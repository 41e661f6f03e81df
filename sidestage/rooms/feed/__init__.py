"""The room feed: every event a room's participants must see, numbered and kept."""
